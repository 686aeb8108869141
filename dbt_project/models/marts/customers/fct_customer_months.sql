-- Periodic snapshot: one row per customer × calendar month from the customer's first paid
-- order on, for every month in which the customer was a customer at its start or end or
-- bought. A customer is a customer while the last paid order is less than
-- var('churn_horizon_days') old and there was no cancellation. The basis of N·V·L,
-- retention and cohorts.
with

orders as (
    select
        customer_key,
        ordered_at,
        revenue
    from {{ ref('fct_orders') }}
    where is_paid and customer_key != -1
),

customers as (
    select
        customer_id,
        cancelled_at
    from {{ ref('stg_crm__customers') }}
),

monthly as (
    select
        customer_key,
        {{ dbt.date_trunc('month', 'ordered_at') }} as month_start,
        count(*) as orders,
        sum(revenue) as revenue,
        max(ordered_at) as last_order_at
    from orders
    group by customer_key, {{ dbt.date_trunc('month', 'ordered_at') }}
),

order_span as (
    select
        cast(min(ordered_at) as date) as first_day,
        cast(max(ordered_at) as date) as last_day
    from orders
),

months as (
    select distinct cast({{ dbt.date_trunc('month', 'dates.date_day') }} as date) as month_start
    from {{ ref('dim_dates') }} as dates
    inner join order_span
        on dates.date_day between order_span.first_day and order_span.last_day
),

first_months as (
    select
        customer_key,
        min(month_start) as first_month
    from monthly
    group by customer_key
),

grid as (
    select
        first_months.customer_key,
        first_months.first_month,
        months.month_start,
        cast({{ dbt.dateadd('month', 1, 'months.month_start') }} as date) as next_month_start
    from first_months
    inner join months on first_months.first_month <= months.month_start
),

filled as (
    select
        grid.customer_key,
        grid.first_month,
        grid.month_start,
        grid.next_month_start,
        coalesce(monthly.orders, 0) as orders,
        coalesce(monthly.revenue, 0) as revenue,
        max(monthly.last_order_at) over (
            partition by grid.customer_key order by grid.month_start
            rows between unbounded preceding and 1 preceding
        ) as last_order_before_start,
        max(monthly.last_order_at) over (
            partition by grid.customer_key order by grid.month_start
            rows between unbounded preceding and current row
        ) as last_order_by_end
    from grid
    left join monthly
        on
            grid.customer_key = monthly.customer_key
            and grid.month_start = cast(monthly.month_start as date)
),

states as (
    select
        filled.*,
        filled.last_order_before_start >= {{ dbt.dateadd(
            'day', -1 * var('churn_horizon_days'), 'filled.month_start') }}
        and (customers.cancelled_at is null or customers.cancelled_at >= filled.month_start)
            as is_customer_at_start,
        filled.last_order_by_end >= {{ dbt.dateadd(
            'day', -1 * var('churn_horizon_days'), 'filled.next_month_start') }}
        and (customers.cancelled_at is null or customers.cancelled_at >= filled.next_month_start)
            as is_customer_at_end
    from filled
    left join customers on filled.customer_key = customers.customer_id
),

final as (
    select
        {{ surrogate_key(['customer_key', 'month_start']) }} as customer_month_key,
        customer_key,
        {{ date_key('month_start') }} as month_date_key,
        month_start,
        {{ date_key('first_month') }} as cohort_month_date_key,
        cast({{ dbt.datediff('first_month', 'month_start', 'month') }} as integer)
            as months_since_first_order,
        orders > 0 as is_active,
        month_start = first_month as is_new,
        coalesce(is_customer_at_start, false) as is_customer_at_start,
        coalesce(is_customer_at_end, false) as is_customer_at_end,
        coalesce(is_customer_at_start and is_customer_at_end, false) as is_retained,
        coalesce(is_customer_at_start and not is_customer_at_end, false) as is_churned,
        orders > 0 and month_start != first_month and not coalesce(is_customer_at_start, false)
            as is_reactivated,
        orders,
        revenue
    from states
    where orders > 0 or is_customer_at_start or is_customer_at_end
)

select * from final
