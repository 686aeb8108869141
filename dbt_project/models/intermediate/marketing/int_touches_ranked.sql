{#- Kept as a view: the one place that orders a customer's touches before an event. -#}
-- Customer touches with a tie-break order for touches at the same instant: a sign-up's
-- first touch, then a web session, then a deal, then an order.
with

touches as (
    select
        customer_id,
        touched_at,
        touch_type,
        channel_key,
        is_direct
    from {{ ref('int_customer_touches') }}
),

final as (
    select
        *,
        case touch_type
            when 'crm_first_touch' then 0
            when 'web_session' then 1
            when 'deal' then 2
            else 3
        end as touch_order
    from touches
)

select * from final
