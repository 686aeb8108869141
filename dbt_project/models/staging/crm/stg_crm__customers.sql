with

source as (
    {{ latest_version(raw_source('crm', 'crm_customers'), 'customer_id') }}
),

renamed as (
    select
        customer_id,
        gender,
        cast(birth_date as date) as birth_date,
        income_band,
        education,
        region,
        city,
        timezone,
        segment,
        lower(trim(email)) as email,
        phone,
        web_user_id,
        first_utm_source,
        first_utm_medium,
        first_utm_campaign,
        owner_manager_id,
        status,
        cast(created_at as timestamp) as created_at,
        cast(cancelled_at as timestamp) as cancelled_at,
        cast(updated_at as timestamp) as updated_at
    from source
)

select * from renamed
