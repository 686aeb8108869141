{#-
    One row per item of `item_type` sold in either period: the current and previous ABC and
    XYZ classes and how they drifted. Shared by the product and customer reports.
-#}
{% macro abc_xyz_drift(item_type) -%}
    with

    classes as (
        select
            period,
            item_key,
            revenue,
            abc_class,
            xyz_class,
            demand_cv
        from {{ ref('int_abc_xyz_classes') }}
        where item_type = '{{ item_type }}'
    ),

    current_period as (
        select * from classes where period = 'current'
    ),

    previous_period as (
        select * from classes where period = 'previous'
    ),

    final as (
        select
            coalesce(current_period.item_key, previous_period.item_key) as item_key,
            coalesce(current_period.revenue, 0) as revenue,
            coalesce(previous_period.revenue, 0) as previous_revenue,
            current_period.abc_class,
            current_period.xyz_class,
            {{ dbt.concat(['current_period.abc_class', 'current_period.xyz_class']) }}
                as abc_xyz_class,
            current_period.demand_cv,
            previous_period.abc_class as previous_abc_class,
            previous_period.xyz_class as previous_xyz_class,
            case
                when previous_period.item_key is null then 'new'
                when current_period.item_key is null then 'gone'
                when current_period.abc_class = previous_period.abc_class then 'stable'
                when current_period.abc_class < previous_period.abc_class then 'up'
                else 'down'
            end as abc_drift,
            coalesce(current_period.xyz_class, '-') != coalesce(previous_period.xyz_class, '-')
                as xyz_changed
        from current_period
        full outer join previous_period on current_period.item_key = previous_period.item_key
    )
{%- endmacro %}
