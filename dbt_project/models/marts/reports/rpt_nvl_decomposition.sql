-- R = N · V · L by month: N = customers who bought, V = value per purchase (average check),
-- L = loyalty as purchases per buying customer; with the customer base, retention and
-- churn, and the change in revenue against the previous month split exactly into the part
-- due to N, to V and to L (log-mean Divisia index: the three parts sum to the change).
with

months as (
    select
        month_start,
        count(distinct case when is_active then customer_key end) as active_customers,
        sum(orders) as orders,
        cast(sum(revenue) as {{ type_double() }}) as revenue,
        sum(case when is_new then 1 else 0 end) as new_customers,
        sum(case when is_customer_at_start then 1 else 0 end) as customers_at_start,
        sum(case when is_customer_at_end then 1 else 0 end) as customers_at_end,
        sum(case when is_retained then 1 else 0 end) as retained_customers,
        sum(case when is_churned then 1 else 0 end) as churned_customers
    from {{ ref('fct_customer_months') }}
    group by month_start
),

factors as (
    select
        months.*,
        cast(months.active_customers as {{ type_double() }}) as n_customers,
        months.revenue / nullif(months.orders, 0) as v_value,
        cast(months.orders as {{ type_double() }}) / nullif(months.active_customers, 0) as l_loyalty,
        cast(months.retained_customers as {{ type_double() }}) / nullif(months.customers_at_start, 0) as retention_rate
    from months
),

compared as (
    select
        factors.*,
        lag(factors.revenue) over (order by factors.month_start) as previous_revenue,
        lag(factors.n_customers) over (order by factors.month_start) as previous_n,
        lag(factors.v_value) over (order by factors.month_start) as previous_v,
        lag(factors.l_loyalty) over (order by factors.month_start) as previous_l
    from factors
),

weighted as (
    select
        compared.*,
        case
            when compared.previous_revenue is null or compared.previous_revenue <= 0 or compared.revenue <= 0 then null
            when compared.revenue = compared.previous_revenue then compared.revenue
            else (compared.revenue - compared.previous_revenue) / (ln(compared.revenue) - ln(compared.previous_revenue))
        end as log_mean_weight
    from compared
),

final as (
    select
        {{ date_key('month_start') }} as month_date_key,
        month_start,
        revenue,
        orders,
        active_customers,
        new_customers,
        customers_at_start,
        customers_at_end,
        retained_customers,
        churned_customers,
        retention_rate,
        n_customers,
        v_value,
        l_loyalty,
        revenue - previous_revenue as revenue_change,
        log_mean_weight * ln(n_customers / previous_n) as change_from_n,
        log_mean_weight * ln(v_value / previous_v) as change_from_v,
        log_mean_weight * ln(l_loyalty / previous_l) as change_from_l
    from weighted
)

select * from final
