-- One row per product sold in the current or previous period: ABC class (share of
-- revenue), XYZ class (stability of monthly demand), both periods, and the drift.
{{ abc_xyz_drift('product') }},

products as (
    select
        product_key,
        product_name,
        category_name
    from {{ ref('dim_products') }}
),

labelled as (
    select
        final.item_key as product_key,
        products.product_name,
        products.category_name,
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
    inner join products on final.item_key = products.product_key
)

select * from labelled
