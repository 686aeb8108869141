-- One row per web session: start, channel, landing page, depth, engagement, and whether it
-- produced a lead or a purchase.
with

sessions as (
    select
        session_key,
        user_pseudo_id,
        session_number,
        web_user_id,
        started_at,
        ended_at,
        session_source,
        session_medium,
        campaign_id,
        session_campaign_name,
        session_channel_group,
        page_views,
        engagement_seconds,
        lead_events,
        purchases,
        purchase_revenue,
        is_first_visit,
        landing_page_path
    from {{ ref('int_web_sessions') }}
),

web_users as (
    select
        web_user_id,
        customer_id
    from {{ ref('stg_identity__web_users') }}
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

final as (
    select
        sessions.session_key,
        {{ date_key('sessions.started_at') }} as session_date_key,
        coalesce(cast(extract(hour from sessions.started_at) as integer), -1) as hour_key,
        coalesce(web_users.customer_id, -1) as customer_key,
        coalesce(utm_channels.channel_key, 'unknown') as channel_key,
        case
            when sessions.landing_page_path is null then 'unknown'
            else {{ surrogate_key(['sessions.landing_page_path']) }}
        end as landing_content_key,
        sessions.user_pseudo_id,
        sessions.session_number,
        sessions.is_first_visit,
        sessions.started_at,
        sessions.ended_at,
        {{ dbt.datediff('sessions.started_at', 'sessions.ended_at', 'second') }}
            as duration_seconds,
        sessions.page_views,
        sessions.engagement_seconds,
        sessions.lead_events,
        sessions.lead_events > 0 as has_lead,
        sessions.purchases,
        sessions.purchases > 0 as has_purchase,
        sessions.purchase_revenue
    from sessions
    left join web_users on sessions.web_user_id = web_users.web_user_id
    left join utm_channels on {{ utm_channel_match(
        'sessions', 'campaign_id', 'session_source', 'session_medium',
        'session_campaign_name', 'session_channel_group') }}
)

select * from final
