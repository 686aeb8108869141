with

source as (
    {{ latest_version(raw_source('crm', 'crm_campaign_members'), 'campaign_member_id') }}
),

renamed as (
    select
        campaign_member_id,
        campaign_id,
        customer_id,
        member_group,
        cast(sent_at as timestamp) as sent_at
    from source
)

select * from renamed
