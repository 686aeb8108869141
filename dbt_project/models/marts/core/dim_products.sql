-- Products under their categories (category > product), with list price.
with

products as (
    select
        product_id,
        product_name,
        category_id,
        list_price
    from {{ ref('stg_crm__products') }}
),

categories as (
    select
        category_id,
        category_name
    from {{ ref('stg_crm__product_categories') }}
),

members as (
    select
        products.product_id as product_key,
        products.product_id,
        products.product_name,
        coalesce(categories.category_name, 'Unknown') as category_name,
        products.list_price
    from products
    left join categories on products.category_id = categories.category_id
),

unknown as (
    select
        -1 as product_key,
        cast(null as integer) as product_id,
        'Unknown' as product_name,
        'Unknown' as category_name,
        cast(null as {{ dbt.type_numeric() }}) as list_price
),

final as (
    select * from members
    union all
    select * from unknown
)

select * from final
