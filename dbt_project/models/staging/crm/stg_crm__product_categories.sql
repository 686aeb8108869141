with

source as (
    {{ latest_version(raw_source('crm', 'crm_product_categories'), 'category_id') }}
),

renamed as (
    select
        category_id,
        name as category_name
    from source
)

select * from renamed
