-- One row per paid order × attribution model × credited channel. Each order's weights sum
-- to 1 under each model: first_touch (the customer's earliest touch up to the order),
-- last_touch (the latest non-direct touch up to the order, the order's own utm included;
-- the latest touch if all were direct) and linear (every touch an equal share).
with

orders as (
    select
        order_id,
        customer_key,
        order_date_key,
        revenue,
        ordered_at
    from {{ ref('fct_orders') }}
    where is_paid
),

touches as (
    select
        customer_id,
        touched_at,
        touch_order,
        channel_key,
        is_direct
    from {{ ref('int_customer_touches') }}
),

order_touches as (
    select
        orders.order_id,
        touches.channel_key,
        {{ touch_ranks('orders.order_id') }},
        count(*) over (partition by orders.order_id) as touch_count
    from orders
    inner join touches
        on
            orders.customer_key = touches.customer_id
            and orders.ordered_at >= touches.touched_at
),

credits as (
    select
        order_id,
        'first_touch' as attribution_model,
        channel_key,
        cast(1 as {{ type_double() }}) as weight
    from order_touches
    where first_rank = 1
    union all
    select
        order_id,
        'last_touch' as attribution_model,
        channel_key,
        cast(1 as {{ type_double() }}) as weight
    from order_touches
    where last_rank = 1
    union all
    select
        order_id,
        'linear' as attribution_model,
        channel_key,
        sum(cast(1 as {{ type_double() }}) / touch_count) as weight
    from order_touches
    group by order_id, channel_key
),

-- an order with no touch at all (no CRM record of how the customer came) is credited to
-- the unknown channel under every model, so revenue is never lost
models as (
    select attribution_model from {{ ref('dim_attribution_models') }}
),

untouched as (
    select
        orders.order_id,
        models.attribution_model,
        'unknown' as channel_key,
        cast(1 as {{ type_double() }}) as weight
    from orders
    cross join models
    where not exists (
        select 1 from order_touches
        where order_touches.order_id = orders.order_id
    )
),

all_credits as (
    select * from credits
    union all
    select * from untouched
),

final as (
    select
        {{ surrogate_key(['all_credits.order_id', 'all_credits.attribution_model',
                          'all_credits.channel_key']) }} as attribution_key,
        all_credits.order_id,
        all_credits.attribution_model,
        all_credits.channel_key,
        orders.customer_key,
        orders.order_date_key,
        all_credits.weight,
        orders.revenue * all_credits.weight as attributed_revenue
    from all_credits
    inner join orders on all_credits.order_id = orders.order_id
)

select * from final
