-- Contact details stay in staging: marts carry only the hashed identity map.
with

source as (
    {{ latest_version(raw_source('crm', 'crm_contacts'), 'contact_id') }}
),

renamed as (
    select
        contact_id,
        customer_id,
        kind as contact_kind,
        value as contact_value,
        cast(is_primary as boolean) as is_primary,
        cast(updated_at as timestamp) as updated_at
    from source
)

select * from renamed
