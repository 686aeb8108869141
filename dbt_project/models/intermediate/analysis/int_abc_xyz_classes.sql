-- ABC and XYZ classes per item and period. The current period is the last
-- var('abc_period_months') months with sales; the previous one the same span before it.
-- ABC: items by revenue, descending; A while the revenue before the item is under
-- var('abc_a_share') of the total, B under var('abc_b_share'), C after. XYZ: coefficient
-- of variation of monthly revenue (months without sales count as 0): X up to
-- var('xyz_x_max_cv'), Y up to var('xyz_y_max_cv'), Z above.
with

monthly as (
    select
        item_type,
        item_key,
        month_start,
        revenue
    from {{ ref('int_abc_xyz_monthly') }}
),

last_month as (
    select max(month_start) as month_start from monthly
),

periods as (
    select
        'current' as period,
        cast({{ dbt.dateadd('month', 1 - var('abc_period_months'), 'month_start') }} as date)
            as first_month,
        month_start as last_month
    from last_month
    union all
    select
        'previous',
        cast({{ dbt.dateadd('month', 1 - 2 * var('abc_period_months'), 'month_start') }} as date),
        cast({{ dbt.dateadd('month', -1 * var('abc_period_months'), 'month_start') }} as date)
    from last_month
),

in_period as (
    select
        periods.period,
        monthly.item_type,
        monthly.item_key,
        monthly.month_start,
        monthly.revenue
    from monthly
    inner join periods
        on monthly.month_start between periods.first_month and periods.last_month
),

item_totals as (
    select
        period,
        item_type,
        item_key,
        sum(revenue) as revenue,
        sum(revenue * revenue) as revenue_squared,
        count(*) as months_with_sales
    from in_period
    group by period, item_type, item_key
),

shares as (
    select
        item_totals.*,
        (
            sum(revenue) over (
                partition by period, item_type order by revenue desc, item_key
                rows between unbounded preceding and current row
            ) - revenue
        ) / sum(revenue) over (partition by period, item_type) as share_before,
        revenue / {{ var('abc_period_months') }} as mean_monthly_revenue
    from item_totals
),

spread as (
    select
        shares.*,
        sqrt(
            greatest(
                revenue_squared / {{ var('abc_period_months') }}
                - mean_monthly_revenue * mean_monthly_revenue,
                0
            )
        ) / nullif(mean_monthly_revenue, 0) as demand_cv
    from shares
),

final as (
    select
        period,
        item_type,
        item_key,
        revenue,
        months_with_sales,
        share_before,
        demand_cv,
        case
            when share_before < {{ var('abc_a_share') }} then 'A'
            when share_before < {{ var('abc_b_share') }} then 'B'
            else 'C'
        end as abc_class,
        case
            when demand_cv <= {{ var('xyz_x_max_cv') }} then 'X'
            when demand_cv <= {{ var('xyz_y_max_cv') }} then 'Y'
            else 'Z'
        end as xyz_class
    from spread
)

select * from final
