-- One row per day × ad-platform campaign: spend (reporting currency), impressions and
-- clicks, the CRM campaign it matched (or the unknown campaign) and its channel, which
-- GA4's rules give the campaign's tags, so spend and the revenue it brought share a channel.
with

spend as (
    select
        spend_date,
        platform,
        platform_campaign_id,
        impressions,
        clicks,
        spend
    from {{ ref('stg_ads__spend') }}
),

ad_campaigns as (
    select
        platform,
        platform_campaign_id,
        campaign_id,
        utm_source,
        utm_medium,
        utm_campaign,
        cast(null as {{ dbt.type_string() }}) as channel_group
    from {{ ref('int_ad_campaigns') }}
),

utm_channels as (
    select
        campaign_id,
        utm_source,
        utm_medium,
        utm_campaign,
        channel_group,
        channel_key
    from {{ ref('int_utm_channels') }}
),

daily as (
    select
        spend_date,
        platform,
        platform_campaign_id,
        sum(impressions) as impressions,
        sum(clicks) as clicks,
        sum(spend) as spend
    from spend
    group by spend_date, platform, platform_campaign_id
),

final as (
    select
        {{ surrogate_key(['daily.spend_date', 'daily.platform', 'daily.platform_campaign_id']) }}
            as spend_key,
        {{ date_key('daily.spend_date') }} as spend_date_key,
        coalesce(ad_campaigns.campaign_id, -1) as campaign_key,
        coalesce(utm_channels.channel_key, 'unknown') as channel_key,
        daily.platform,
        daily.impressions,
        daily.clicks,
        daily.spend
    from daily
    left join ad_campaigns
        on
            daily.platform = ad_campaigns.platform
            and daily.platform_campaign_id = ad_campaigns.platform_campaign_id
    left join utm_channels on {{ utm_channel_match(
        'ad_campaigns', campaign_name='utm_campaign', channel_group='channel_group') }}
)

select * from final
