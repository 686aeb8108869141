-- One row per day × campaign: ad spend, impressions and clicks summed over platforms.
with

spend as (
    select
        spend_date,
        campaign_id,
        platform,
        impressions,
        clicks,
        spend
    from {{ ref('stg_ads__spend') }}
),

campaigns as (
    select
        campaign_key,
        channel_key
    from {{ ref('dim_campaigns') }}
    where campaign_key != -1
),

daily as (
    select
        spend_date,
        campaign_id,
        max(platform) as platform,
        sum(impressions) as impressions,
        sum(clicks) as clicks,
        sum(spend) as spend
    from spend
    group by spend_date, campaign_id
),

final as (
    select
        {{ surrogate_key(['daily.spend_date', 'daily.campaign_id']) }} as spend_key,
        {{ date_key('daily.spend_date') }} as spend_date_key,
        coalesce(campaigns.campaign_key, -1) as campaign_key,
        coalesce(campaigns.channel_key, 'unknown') as channel_key,
        daily.platform,
        daily.impressions,
        daily.clicks,
        daily.spend
    from daily
    left join campaigns on daily.campaign_id = campaigns.campaign_key
)

select * from final
