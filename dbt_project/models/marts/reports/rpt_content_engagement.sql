-- One row per web page: views, engagement time per view, visitors, sessions that landed
-- on it, and the share of sessions viewing it that produced a lead or a purchase.
with

events as (
    select
        content_key,
        session_key,
        user_pseudo_id,
        is_page_view,
        engagement_seconds
    from {{ ref('fct_web_events') }}
    where content_key != 'unknown'
),

sessions as (
    select
        session_key,
        landing_content_key,
        has_lead,
        has_purchase
    from {{ ref('fct_web_sessions') }}
),

pages as (
    select
        content_key,
        page_path,
        page_title,
        section
    from {{ ref('dim_content') }}
),

page_events as (
    select
        content_key,
        sum(case when is_page_view then 1 else 0 end) as page_views,
        sum(engagement_seconds) as engagement_seconds,
        count(distinct user_pseudo_id) as visitors
    from events
    group by content_key
),

page_sessions as (
    select
        viewed.content_key,
        count(*) as sessions,
        sum(case when sessions.has_lead then 1 else 0 end) as lead_sessions,
        sum(case when sessions.has_purchase then 1 else 0 end) as purchase_sessions
    from (select distinct
        content_key,
        session_key
    from events) as viewed
    inner join sessions on viewed.session_key = sessions.session_key
    group by viewed.content_key
),

landings as (
    select
        landing_content_key as content_key,
        count(*) as landing_sessions
    from sessions
    group by landing_content_key
),

final as (
    select
        pages.content_key,
        pages.page_path,
        pages.page_title,
        pages.section,
        page_events.page_views,
        page_events.engagement_seconds,
        page_events.engagement_seconds / nullif(page_events.page_views, 0)
            as avg_engagement_seconds,
        page_events.visitors,
        coalesce(page_sessions.sessions, 0) as sessions,
        coalesce(landings.landing_sessions, 0) as landing_sessions,
        cast(page_sessions.lead_sessions as {{ type_double() }}) / nullif(page_sessions.sessions, 0) as lead_rate,
        cast(page_sessions.purchase_sessions as {{ type_double() }}) / nullif(page_sessions.sessions, 0)
            as purchase_rate
    from pages
    inner join page_events on pages.content_key = page_events.content_key
    left join page_sessions on pages.content_key = page_sessions.content_key
    left join landings on pages.content_key = landings.content_key
)

select * from final
