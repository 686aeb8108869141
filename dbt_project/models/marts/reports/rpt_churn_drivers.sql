-- One row per candidate churn driver, a yes/no trait of a customer: churn rate with and
-- without it, the crude lift (rate with / rate without) and the lift adjusted for the
-- other traits and tenure (Mantel-Haenszel risk ratio over strata of customers alike in
-- tenure and every other trait). Traits that come together are told apart by it: a bad
-- service experience brings both tickets and low CSAT, and older customers have had more
-- time both to open a ticket and to lapse, so "opened a ticket" looks strong alone; among
-- customers alike in the rest it is the low rating that goes with churning. Customers whose
-- first order is younger than the churn horizon are left out (they cannot have churned
-- yet); the number of orders is not a candidate (one order past the horizon is churn by
-- definition). The driver ranked first by adjusted lift is where retention work starts.
{%- set drivers = [
    ('low_csat', 'Rated a service ticket 1 or 2 (CSAT)', 'is_low_csat', 1),
    ('service_ticket', 'Opened a service ticket', 'has_ticket', 2),
    ('no_calls', 'Never on the phone with the call center', 'has_no_calls', 4),
    ('no_web_visits', 'Never seen logged in on the website', 'has_no_web_visits', 8),
] %}

with

customers as (
    select
        customer_key,
        days_since_first_order,
        tickets,
        worst_csat,
        calls,
        web_sessions,
        is_churned
    from {{ ref('rpt_customer_churn') }}
    where days_since_first_order > {{ var('churn_horizon_days') }}
),

customer_traits as (
    select
        customer_key,
        is_churned,
        -- tenure in quarters (the last band open-ended), a stratum of its own
        least(floor(days_since_first_order / 91), 8) as tenure_band,
        coalesce(worst_csat <= 2, false) as is_low_csat,
        tickets > 0 as has_ticket,
        calls = 0 as has_no_calls,
        web_sessions = 0 as has_no_web_visits
    from customers
),

-- each trait is one bit of the customer's profile, above it the tenure band; a trait's
-- strata are the profiles without its own bit
profiles as (
    select
        *,
        16 * tenure_band
        + case when is_low_csat then 1 else 0 end
        + case when has_ticket then 2 else 0 end
        + case when has_no_calls then 4 else 0 end
        + case when has_no_web_visits then 8 else 0 end as profile
    from customer_traits
),

traits as (
    {%- for driver, description, flag, bit in drivers %}
        select
            customer_key,
            is_churned,
            '{{ driver }}' as driver,
            '{{ description }}' as driver_description,
            {{ flag }} as has_trait,
            profile - case when {{ flag }} then {{ bit }} else 0 end as stratum
        from profiles
        {% if not loop.last %}union all{% endif %}
    {%- endfor %}
),

strata as (
    select
        driver,
        stratum,
        sum(case when has_trait then 1 else 0 end) as customers_with,
        sum(case when not has_trait then 1 else 0 end) as customers_without,
        sum(case when has_trait and is_churned then 1 else 0 end) as churned_with,
        sum(case when not has_trait and is_churned then 1 else 0 end) as churned_without,
        count(*) as customers
    from traits
    group by driver, stratum
),

adjusted as (
    select
        driver,
        sum(cast(churned_with as {{ type_double() }}) * customers_without / customers)
        / nullif(sum(cast(churned_without as {{ type_double() }}) * customers_with / customers), 0)
            as adjusted_churn_lift
    from strata
    group by driver
),

rates as (
    select
        driver,
        driver_description,
        sum(case when has_trait then 1 else 0 end) as customers_with,
        sum(case when not has_trait then 1 else 0 end) as customers_without,
        avg(case when has_trait then case when is_churned then cast(1 as {{ type_double() }}) else 0 end end)
            as churn_rate_with,
        avg(case when not has_trait then case when is_churned then cast(1 as {{ type_double() }}) else 0 end end)
            as churn_rate_without
    from traits
    group by driver, driver_description
),

final as (
    select
        rates.driver,
        rates.driver_description,
        rates.customers_with,
        rates.customers_without,
        rates.churn_rate_with,
        rates.churn_rate_without,
        rates.churn_rate_with / nullif(rates.churn_rate_without, 0) as churn_lift,
        adjusted.adjusted_churn_lift,
        rank() over (
            order by adjusted.adjusted_churn_lift desc nulls last
        ) as driver_rank
    from rates
    inner join adjusted on rates.driver = adjusted.driver
)

select * from final
