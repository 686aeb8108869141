-- One row per CRM campaign with the channel GA4's default channel group gives its utm
-- tags, so a campaign, its web sessions and its ad spend fall in the same channel; a
-- campaign without utm tags keeps the channel the CRM names.
with

campaigns as (
    select
        campaign_id,
        campaign_name,
        channel as crm_channel,
        utm_source,
        utm_medium,
        utm_campaign
    from {{ ref('stg_crm__campaigns') }}
),

categories as (
    select
        source,
        category
    from {{ ref('ga4_source_categories') }}
),

final as (
    select
        campaigns.campaign_id,
        campaigns.campaign_name,
        campaigns.utm_source,
        campaigns.utm_campaign,
        case
            when campaigns.utm_source is null and campaigns.utm_medium is null
                then coalesce(campaigns.crm_channel, 'Unknown')
            else {{ ga4_default_channel_group(
                'lower(campaigns.utm_source)', 'lower(campaigns.utm_medium)',
                'lower(campaigns.utm_campaign)', 'categories.category') }}
        end as channel
    from campaigns
    left join categories on {{ normalized_source('campaigns.utm_source') }} = categories.source
)

select * from final
