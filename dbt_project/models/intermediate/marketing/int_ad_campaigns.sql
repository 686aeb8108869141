-- One row per ad-platform campaign, matched to its CRM campaign: by the CRM campaign id
-- written in the report, else by name (the platform's campaign name or utm_campaign against
-- the CRM's utm_campaign or name, compared lower case with punctuation folded). The tags its
-- spend is filed under: the CRM campaign's, or the platform's default source and medium.
with

spend as (
    select distinct
        platform,
        platform_campaign_id,
        campaign_name,
        utm_campaign
    from {{ ref('stg_ads__spend') }}
),

crm as (
    select
        campaign_id,
        campaign_name,
        utm_source,
        utm_medium,
        utm_campaign
    from {{ ref('stg_crm__campaigns') }}
),

crm_names as (
    select
        {{ normalized_name('utm_campaign') }} as name,
        campaign_id
    from crm
    where utm_campaign is not null
    union all
    select
        {{ normalized_name('campaign_name') }} as name,
        campaign_id
    from crm
),

names as (
    select
        name,
        min(campaign_id) as campaign_id
    from crm_names
    group by name
),

platforms as (
    select
        platform,
        utm_source,
        utm_medium
    from {{ ref('ad_platforms') }}
),

matched as (
    select
        spend.platform,
        spend.platform_campaign_id,
        spend.campaign_name,
        coalesce(by_id.campaign_id, by_utm.campaign_id, by_name.campaign_id) as campaign_id
    from spend
    left join crm as by_id
        on spend.platform_campaign_id = cast(by_id.campaign_id as {{ dbt.type_string() }})
    left join names as by_utm on {{ normalized_name('spend.utm_campaign') }} = by_utm.name
    left join names as by_name on {{ normalized_name('spend.campaign_name') }} = by_name.name
),

final as (
    select
        matched.platform,
        matched.platform_campaign_id,
        matched.campaign_id,
        coalesce(crm.utm_source, platforms.utm_source, matched.platform) as utm_source,
        coalesce(crm.utm_medium, platforms.utm_medium) as utm_medium,
        case when crm.campaign_id is null then matched.campaign_name end as utm_campaign
    from matched
    left join crm on matched.campaign_id = crm.campaign_id
    left join platforms on matched.platform = platforms.platform
)

select * from final
