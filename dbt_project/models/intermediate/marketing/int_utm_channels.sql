-- One row per distinct touch tag set (campaign, utm source, medium and campaign name, and
-- GA4's own channel group where the export has it) seen on any touch (deals, orders, the
-- customer's first touch, web sessions, ad-platform campaigns), resolved to its channel > source > campaign.
with

campaigns as (
    select
        campaign_id,
        campaign_name,
        channel,
        utm_source as campaign_source,
        utm_campaign
    from {{ ref('int_campaign_channels') }}
),

categories as (
    select
        source,
        category
    from {{ ref('ga4_source_categories') }}
),

deals as (
    select
        campaign_id,
        utm_source,
        utm_medium,
        cast(null as {{ dbt.type_string() }}) as utm_campaign,
        cast(null as {{ dbt.type_string() }}) as channel_group
    from {{ ref('stg_crm__deals') }}
),

orders as (
    select
        campaign_id,
        utm_source,
        utm_medium,
        cast(null as {{ dbt.type_string() }}) as utm_campaign,
        cast(null as {{ dbt.type_string() }}) as channel_group
    from {{ ref('stg_crm__orders') }}
),

first_touches as (
    select
        campaigns.campaign_id,
        customers.first_utm_source as utm_source,
        customers.first_utm_medium as utm_medium,
        cast(null as {{ dbt.type_string() }}) as utm_campaign,
        cast(null as {{ dbt.type_string() }}) as channel_group
    from {{ ref('stg_crm__customers') }} as customers
    left join campaigns on customers.first_utm_campaign = campaigns.utm_campaign
),

web_sessions as (
    select
        campaign_id,
        session_source as utm_source,
        session_medium as utm_medium,
        session_campaign_name as utm_campaign,
        session_channel_group as channel_group
    from {{ ref('int_web_sessions') }}
),

ad_campaigns as (
    select
        campaign_id,
        utm_source,
        utm_medium,
        utm_campaign,
        cast(null as {{ dbt.type_string() }}) as channel_group
    from {{ ref('int_ad_campaigns') }}
),

touches as (
    select * from deals
    union
    select * from orders
    union
    select * from first_touches
    union
    select * from web_sessions
    union
    select * from ad_campaigns
),

resolved as (
    select
        touches.campaign_id,
        touches.utm_source,
        touches.utm_medium,
        touches.utm_campaign,
        touches.channel_group,
        coalesce(
            touches.channel_group,
            case
                when touches.utm_source is null and touches.utm_medium is null
                    then campaigns.channel
            end,
            {{ ga4_default_channel_group(
                'lower(touches.utm_source)', 'lower(touches.utm_medium)',
                'lower(coalesce(touches.utm_campaign, campaigns.utm_campaign))',
                'categories.category') }}
        ) as channel,
        coalesce(campaigns.campaign_source, touches.utm_source, '(none)') as source,
        coalesce(campaigns.campaign_name, touches.utm_campaign, '(none)') as campaign_name
    from touches
    left join campaigns on touches.campaign_id = campaigns.campaign_id
    left join categories on {{ normalized_source('touches.utm_source') }} = categories.source
),

final as (
    select
        *,
        {{ channel_key('channel', 'source', 'campaign_name') }} as channel_key
    from resolved
)

select * from final
