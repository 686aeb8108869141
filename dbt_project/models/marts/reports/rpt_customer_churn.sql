-- One row per customer with a paid order: whether the customer has churned as of the
-- newest order in the warehouse (no paid order for var('churn_horizon_days') days, or a
-- cancellation), next to what may explain it: purchases, service tickets and the worst
-- satisfaction score, calls and web visits. The feature table for churn analysis.
with

orders as (
    select
        customer_key,
        ordered_at,
        revenue
    from {{ ref('fct_orders') }}
    where is_paid and customer_key != -1
),

as_of as (
    select max(ordered_at) as as_of_at from orders
),

purchases as (
    select
        customer_key,
        min(ordered_at) as first_order_at,
        max(ordered_at) as last_order_at,
        count(*) as orders,
        sum(revenue) as revenue
    from orders
    group by customer_key
),

tickets as (
    select
        customer_key,
        count(*) as tickets,
        min(csat) as worst_csat,
        avg(resolution_hours) as avg_resolution_hours
    from {{ ref('fct_tickets') }}
    group by customer_key
),

calls as (
    select
        customer_key,
        count(*) as calls
    from {{ ref('fct_calls') }}
    group by customer_key
),

sessions as (
    select
        customer_key,
        count(*) as web_sessions
    from {{ ref('fct_web_sessions') }}
    group by customer_key
),

customers as (
    select
        customer_id,
        cancelled_at
    from {{ ref('stg_crm__customers') }}
),

final as (
    select
        purchases.customer_key,
        purchases.first_order_at,
        purchases.last_order_at,
        purchases.orders,
        purchases.revenue,
        coalesce(tickets.tickets, 0) as tickets,
        tickets.worst_csat,
        tickets.avg_resolution_hours,
        coalesce(calls.calls, 0) as calls,
        coalesce(sessions.web_sessions, 0) as web_sessions,
        cast({{ dbt.datediff('purchases.first_order_at', 'as_of.as_of_at', 'day') }} as integer)
            as days_since_first_order,
        cast({{ dbt.datediff('purchases.last_order_at', 'as_of.as_of_at', 'day') }} as integer)
            as days_since_last_order,
        {{ dbt.datediff('purchases.last_order_at', 'as_of.as_of_at', 'day') }}
        > {{ var('churn_horizon_days') }}
        or customers.cancelled_at is not null as is_churned
    from purchases
    cross join as_of
    left join tickets on purchases.customer_key = tickets.customer_key
    left join calls on purchases.customer_key = calls.customer_key
    left join sessions on purchases.customer_key = sessions.customer_key
    left join customers on purchases.customer_key = customers.customer_id
)

select * from final
