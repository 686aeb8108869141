with

source as (
    {{ latest_version(raw_source('crm', 'crm_products'), 'product_id') }}
),

renamed as (
    select
        product_id,
        name as product_name,
        category_id,
        cast(list_price as {{ dbt.type_numeric() }}) as list_price
    from source
)

select * from renamed
