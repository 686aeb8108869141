-- One row per customer who bought in the current or previous period: ABC class (share of
-- revenue), XYZ class (stability of monthly spend), both periods, and the drift.
{{ abc_xyz_drift('customer') }},

customers as (
    select
        customer_key,
        segment
    from {{ ref('dim_customers') }}
),

labelled as (
    select
        final.item_key as customer_key,
        customers.segment,
        final.revenue,
        final.previous_revenue,
        final.abc_class,
        final.xyz_class,
        final.abc_xyz_class,
        final.demand_cv,
        final.previous_abc_class,
        final.previous_xyz_class,
        final.abc_drift,
        final.xyz_changed
    from final
    inner join customers on final.item_key = customers.customer_key
)

select * from labelled
