with

utm_channels as (
    select distinct
        channel_key,
        channel,
        source,
        campaign_name
    from {{ ref('int_utm_channels') }}
    where campaign_id is null
),

campaigns as (
    select
        campaign_id,
        campaign_name,
        channel,
        utm_source as source,
        platform
    from {{ ref('stg_crm__campaigns') }}
),

campaign_members as (
    select
        {{ channel_key('channel', 'source', 'campaign_name') }} as channel_key,
        channel,
        source,
        campaign_name,
        campaign_id,
        platform
    from campaigns
),

free_members as (
    select
        channel_key,
        channel,
        source,
        campaign_name,
        cast(null as integer) as campaign_id,
        cast(null as {{ dbt.type_string() }}) as platform
    from utm_channels
),

unknown as (
    select
        'unknown' as channel_key,
        'Unknown' as channel,
        'Unknown' as source,
        'Unknown' as campaign_name,
        cast(null as integer) as campaign_id,
        cast(null as {{ dbt.type_string() }}) as platform
),

final as (
    select * from campaign_members
    union all
    select * from free_members
    union all
    select * from unknown
)

select * from final
