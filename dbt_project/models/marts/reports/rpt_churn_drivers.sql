-- Candidate churn drivers, each a yes/no trait of a customer: churn rate with and without
-- it and the lift (rate with / rate without). Customers whose first order is younger than
-- the churn horizon are left out: they cannot have churned yet. The driver with the
-- highest lift is where retention work should start. (The number of orders is not a
-- candidate: a one-order customer past the horizon has churned by definition.) Each trait
-- is compared alone: traits that come together (a bad service experience brings both
-- tickets and low CSAT) are separated only by the churn model of the mining layer.
with

customers as (
    select
        customer_key,
        tickets,
        worst_csat,
        calls,
        web_sessions,
        is_churned
    from {{ ref('rpt_customer_churn') }}
    where days_since_first_order > {{ var('churn_horizon_days') }}
),

traits as (
    select
        customer_key,
        is_churned,
        'low_csat' as driver,
        'Rated a service ticket 1 or 2 (CSAT)' as driver_description,
        coalesce(worst_csat <= 2, false) as has_trait
    from customers
    union all
    select
        customer_key,
        is_churned,
        'service_ticket' as driver,
        'Opened a service ticket' as driver_description,
        tickets > 0 as has_trait
    from customers
    union all
    select
        customer_key,
        is_churned,
        'no_calls' as driver,
        'Never on the phone with the call center' as driver_description,
        calls = 0 as has_trait
    from customers
    union all
    select
        customer_key,
        is_churned,
        'no_web_visits' as driver,
        'Never seen logged in on the website' as driver_description,
        web_sessions = 0 as has_trait
    from customers
),

rates as (
    select
        driver,
        driver_description,
        sum(case when has_trait then 1 else 0 end) as customers_with,
        sum(case when not has_trait then 1 else 0 end) as customers_without,
        avg(case when has_trait then case when is_churned then 1.0 else 0 end end)
            as churn_rate_with,
        avg(case when not has_trait then case when is_churned then 1.0 else 0 end end)
            as churn_rate_without
    from traits
    group by driver, driver_description
),

final as (
    select
        driver,
        driver_description,
        customers_with,
        customers_without,
        churn_rate_with,
        churn_rate_without,
        churn_rate_with / nullif(churn_rate_without, 0) as churn_lift,
        rank() over (order by churn_rate_with / nullif(churn_rate_without, 0) desc) as driver_rank
    from rates
)

select * from final
