with

utm_channels as (
    select distinct
        channel_key,
        channel,
        source,
        campaign_name
    from {{ ref('int_utm_channels') }}
),

campaigns as (
    select
        stg.campaign_id,
        stg.campaign_name,
        channels.channel,
        stg.utm_source as source,
        stg.platform
    from {{ ref('stg_crm__campaigns') }} as stg
    inner join {{ ref('int_campaign_channels') }} as channels
        on stg.campaign_id = channels.campaign_id
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
    -- tags that resolve to a campaign's own member are that member, not a second one
    where channel_key not in (select campaign_members.channel_key from campaign_members)
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
