with

source as (
    {{ latest_version(raw_source('crm', 'crm_campaigns'), 'campaign_id') }}
),

renamed as (
    select
        campaign_id,
        name as campaign_name,
        channel,
        platform,
        utm_source,
        utm_medium,
        utm_campaign,
        cast(started_on as date) as started_on,
        cast(ended_on as date) as ended_on
    from source
)

select * from renamed
