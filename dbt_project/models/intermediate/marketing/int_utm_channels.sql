-- One row per (campaign, utm source, utm medium) seen on deals and orders, resolved to
-- the channel > source > campaign member it belongs to.
with

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

campaigns as (
    select
        campaign_id,
        campaign_name,
        channel,
        utm_source as campaign_source
    from {{ ref('stg_crm__campaigns') }}
),

mediums as (
    select
        utm_medium,
        channel
    from {{ ref('channel_mediums') }}
),

touches as (
    select * from deals
    union
    select * from orders
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
        {{ surrogate_key(['channel', 'source', 'campaign_name']) }} as channel_key
    from resolved
)

select * from final
