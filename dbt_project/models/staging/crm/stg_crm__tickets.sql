with

source as (
    {{ latest_version(raw_source('crm', 'crm_tickets'), 'ticket_id') }}
),

renamed as (
    select
        ticket_id,
        customer_id,
        manager_id,
        product_id,
        status as ticket_status,
        priority,
        channel as ticket_channel,
        cast(opened_at as timestamp) as opened_at,
        cast(resolved_at as timestamp) as resolved_at
    from source
)

select * from renamed
