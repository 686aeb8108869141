-- Cohorts by month of first paid order × months since: how many of the cohort bought
-- again, the revenue, and the cumulative revenue per cohort customer.
with

customer_months as (
    select
        cohort_month_date_key,
        months_since_first_order,
        customer_key,
        is_active,
        revenue
    from {{ ref('fct_customer_months') }}
),

cohorts as (
    select
        cohort_month_date_key,
        count(distinct customer_key) as cohort_size
    from customer_months
    where months_since_first_order = 0
    group by cohort_month_date_key
),

activity as (
    select
        cohort_month_date_key,
        months_since_first_order,
        sum(case when is_active then 1 else 0 end) as active_customers,
        sum(revenue) as revenue
    from customer_months
    group by cohort_month_date_key, months_since_first_order
),

dates as (
    select
        date_key,
        month
    from {{ ref('dim_dates') }}
),

final as (
    select
        {{ surrogate_key(['activity.cohort_month_date_key', 'activity.months_since_first_order']) }}
            as cohort_row_key,
        activity.cohort_month_date_key,
        dates.month as cohort_month,
        activity.months_since_first_order,
        cohorts.cohort_size,
        activity.active_customers,
        cast(activity.active_customers as {{ type_double() }}) / cohorts.cohort_size as active_share,
        activity.revenue,
        sum(activity.revenue) over (
            partition by activity.cohort_month_date_key
            order by activity.months_since_first_order
            rows between unbounded preceding and current row
        ) / cohorts.cohort_size as cumulative_revenue_per_customer
    from activity
    inner join cohorts on activity.cohort_month_date_key = cohorts.cohort_month_date_key
    inner join dates on activity.cohort_month_date_key = dates.date_key
)

select * from final
