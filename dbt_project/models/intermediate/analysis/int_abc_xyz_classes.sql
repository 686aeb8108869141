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
        'previous' as period,
        cast({{ dbt.dateadd('month', 1 - 2 * var('abc_period_months'), 'month_start') }} as date)
            as first_month,
        cast({{ dbt.dateadd('month', -1 * var('abc_period_months'), 'month_start') }} as date)
            as last_month
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
            sum(item_totals.revenue) over (
                partition by item_totals.period, item_totals.item_type order by item_totals.revenue desc, item_totals.item_key asc
                rows between unbounded preceding and current row
            ) - item_totals.revenue
        ) / sum(item_totals.revenue) over (partition by item_totals.period, item_totals.item_type) as share_before,
        item_totals.revenue / {{ var('abc_period_months') }} as mean_monthly_revenue
    from item_totals
),

spread as (
    select
        shares.*,
        sqrt(
            greatest(
                shares.revenue_squared / {{ var('abc_period_months') }}
                - shares.mean_monthly_revenue * shares.mean_monthly_revenue,
                0
            )
        ) / nullif(shares.mean_monthly_revenue, 0) as demand_cv
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
