-- One row per (campaign, utm source, utm medium) seen on any touch (deals, orders, the
-- customer's first touch, web sessions), resolved to its channel > source > campaign member.
with

campaigns as (
    select
        campaign_id,
        campaign_name,
        channel,
        utm_source as campaign_source,
        utm_campaign
    from {{ ref('stg_crm__campaigns') }}
),

mediums as (
    select
        utm_medium,
        channel
    from {{ ref('channel_mediums') }}
),

deals as (
    select
        campaign_id,
        utm_source,
        utm_medium
    from {{ ref('stg_crm__deals') }}
),

orders as (
    select
        campaign_id,
        utm_source,
        utm_medium
    from {{ ref('stg_crm__orders') }}
),

first_touches as (
    select
        campaigns.campaign_id,
        customers.first_utm_source as utm_source,
        customers.first_utm_medium as utm_medium
    from {{ ref('stg_crm__customers') }} as customers
    left join campaigns on customers.first_utm_campaign = campaigns.utm_campaign
),

web_sessions as (
    select
        session_campaign_id as campaign_id,
        session_source as utm_source,
        session_medium as utm_medium
    from {{ ref('int_web_sessions') }}
),

touches as (
    select * from deals
    union
    select * from orders
    union
    select * from first_touches
    union
    select * from web_sessions
),

resolved as (
    select
        touches.campaign_id,
        touches.utm_source,
        touches.utm_medium,
        coalesce(campaigns.channel, mediums.channel, 'Unknown') as channel,
        coalesce(campaigns.campaign_source, touches.utm_source, '(none)') as source,
        coalesce(campaigns.campaign_name, '(none)') as campaign_name
    from touches
    left join campaigns on touches.campaign_id = campaigns.campaign_id
    left join mediums on touches.utm_medium = mediums.utm_medium
),

final as (
    select
        *,
        {{ channel_key('channel', 'source', 'campaign_name') }} as channel_key
    from resolved
)

select * from final
