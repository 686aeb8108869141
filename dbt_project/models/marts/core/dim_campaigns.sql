-- One row per marketing campaign with its channel, platform, utm tags and flight dates.
with

campaigns as (
    select
        campaign_id,
        campaign_name,
        channel,
        platform,
        utm_source,
        utm_medium,
        utm_campaign,
        started_on,
        ended_on
    from {{ ref('stg_crm__campaigns') }}
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
