with

source as (
    {{ latest_version(raw_source('crm', 'crm_orders'), 'order_id') }}
),

renamed as (
    select
        order_id,
        customer_id,
        deal_id,
        manager_id,
        status as order_status,
        sales_channel,
        campaign_id,
        utm_source,
        utm_medium,
        cast(ordered_at as timestamp) as ordered_at,
        cast(updated_at as timestamp) as updated_at,
        _loaded_at as loaded_at
    from source
)

select * from renamed
