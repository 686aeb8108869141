-- One row per customer with a paid order: recency (days since the last paid order, as of
-- the day after the newest order in the warehouse), frequency (paid orders), monetary
-- (revenue), their quintile scores (5 = best) and the named RFM segment.
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
    select cast({{ dbt.dateadd('day', 1, 'max(ordered_at)') }} as date) as as_of_date
    from orders
),

customers as (
    select
        customer_key,
        max(ordered_at) as last_order_at,
        count(*) as frequency,
        sum(revenue) as monetary
    from orders
    group by customer_key
),

measured as (
    select
        customers.customer_key,
        as_of.as_of_date,
        cast(
            {{ dbt.datediff('cast(customers.last_order_at as date)', 'as_of.as_of_date', 'day') }}
            as integer
        ) as recency_days,
        customers.frequency,
        customers.monetary
    from customers
    cross join as_of
),

scored as (
    select
        measured.*,
        {{ rfm_score('recency_days', 'desc') }} as r_score,
        {{ rfm_score('frequency') }} as f_score,
        {{ rfm_score('monetary') }} as m_score
    from measured
),

final as (
    select
        customer_key,
        as_of_date,
        recency_days,
        frequency,
        monetary,
        r_score,
        f_score,
        m_score,
        {{ dbt.concat(["cast(r_score as " ~ dbt.type_string() ~ ")",
                       "cast(f_score as " ~ dbt.type_string() ~ ")",
                       "cast(m_score as " ~ dbt.type_string() ~ ")"]) }} as rfm_cell,
        {{ rfm_segment('r_score', 'f_score') }} as rfm_segment
    from scored
)

select * from final
