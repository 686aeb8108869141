with

source as (
    {{ latest_version(raw_source('crm', 'crm_order_lines'), 'order_line_id') }}
),

renamed as (
    select
        order_line_id,
        order_id,
        product_id,
        quantity,
        cast(unit_price as {{ dbt.type_numeric() }}) as unit_price,
        cast(discount as {{ dbt.type_numeric() }}) as discount,
        quantity * cast(unit_price as {{ dbt.type_numeric() }})
        - cast(discount as {{ dbt.type_numeric() }}) as line_amount,
        _loaded_at as loaded_at
    from source
)

select * from renamed
