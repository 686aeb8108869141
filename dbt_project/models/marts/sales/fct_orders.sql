-- One row per order. Revenue counts paid orders only; paid_order_number numbers a
-- customer's paid orders in time (docs/reference.md: average check =
-- revenue / number of paid orders).
with

orders as (
    select
        order_id,
        customer_id,
        deal_id,
        manager_id,
        order_status,
        sales_channel,
        campaign_id,
        utm_source,
        utm_medium,
        ordered_at
    from {{ ref('stg_crm__orders') }}
),

order_lines as (
    select
        order_id,
        quantity,
        line_amount
    from {{ ref('stg_crm__order_lines') }}
),

utm_channels as (
    select
        campaign_id,
        utm_source,
        utm_medium,
        utm_campaign,
        channel_group,
        channel_key
    from {{ ref('int_utm_channels') }}
),

customers as (
    select customer_id from {{ ref('stg_crm__customers') }}
),

managers as (
    select manager_id from {{ ref('stg_crm__managers') }}
),

campaigns as (
    select campaign_id from {{ ref('stg_crm__campaigns') }}
),

paid_sequence as (
    select
        order_id,
        row_number() over (partition by customer_id order by ordered_at, order_id)
            as paid_order_number
    from orders
    where order_status = 'paid'
),

order_totals as (
    select
        order_id,
        count(*) as line_count,
        sum(quantity) as item_quantity,
        sum(line_amount) as gross_amount
    from order_lines
    group by order_id
),

final as (
    select
        orders.order_id,
        coalesce(customers.customer_id, -1) as customer_key,
        coalesce(managers.manager_id, -1) as manager_key,
        coalesce(utm_channels.channel_key, 'unknown') as channel_key,
        coalesce(campaigns.campaign_id, -1) as campaign_key,
        {{ date_key('orders.ordered_at') }} as order_date_key,
        orders.deal_id,
        orders.order_status,
        orders.sales_channel,
        orders.order_status = 'paid' as is_paid,
        coalesce(order_totals.line_count, 0) as line_count,
        coalesce(order_totals.item_quantity, 0) as item_quantity,
        coalesce(order_totals.gross_amount, 0) as gross_amount,
        case
            when orders.order_status = 'paid' then coalesce(order_totals.gross_amount, 0)
            else 0
        end as revenue,
        paid_sequence.paid_order_number,
        paid_sequence.paid_order_number > 1 as is_repeat_purchase,
        orders.ordered_at
    from orders
    left join order_totals on orders.order_id = order_totals.order_id
    left join customers on orders.customer_id = customers.customer_id
    left join managers on orders.manager_id = managers.manager_id
    left join campaigns on orders.campaign_id = campaigns.campaign_id
    left join paid_sequence on orders.order_id = paid_sequence.order_id
    left join utm_channels on {{ utm_channel_match('orders') }}
)

select * from final
