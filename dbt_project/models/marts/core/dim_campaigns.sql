-- One row per marketing campaign with its channel, platform, utm tags and flight dates.
with

channels as (
    select
        campaign_id,
        channel
    from {{ ref('int_campaign_channels') }}
),

campaigns as (
    select
        stg.campaign_id,
        stg.campaign_name,
        channels.channel,
        stg.platform,
        stg.utm_source,
        stg.utm_medium,
        stg.utm_campaign,
        stg.started_on,
        stg.ended_on
    from {{ ref('stg_crm__campaigns') }} as stg
    inner join channels on stg.campaign_id = channels.campaign_id
),

members as (
    select
        campaign_id as campaign_key,
        campaign_id,
        campaign_name,
        channel,
        platform,
        utm_source,
        utm_medium,
        utm_campaign,
        {{ channel_key('channel', 'utm_source', 'campaign_name') }} as channel_key,
        started_on,
        ended_on
    from campaigns
),

unknown as (
    select
        -1 as campaign_key,
        cast(null as integer) as campaign_id,
        '(none)' as campaign_name,
        'Unknown' as channel,
        cast(null as {{ dbt.type_string() }}) as platform,
        cast(null as {{ dbt.type_string() }}) as utm_source,
        cast(null as {{ dbt.type_string() }}) as utm_medium,
        cast(null as {{ dbt.type_string() }}) as utm_campaign,
        'unknown' as channel_key,
        cast(null as date) as started_on,
        cast(null as date) as ended_on
),

final as (
    select * from members
    union all
    select * from unknown
)

select * from final
