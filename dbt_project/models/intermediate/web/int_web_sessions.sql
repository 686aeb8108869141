-- One row per web session (user_pseudo_id × ga_session_id): when, where from, what it did.
with

events as (
    select
        user_pseudo_id,
        ga_session_id,
        ga_session_number,
        web_user_id,
        event_name,
        event_at,
        page_path,
        engagement_time_msec,
        session_source,
        session_medium,
        session_campaign_id,
        purchase_revenue
    from {{ ref('stg_web__events') }}
),

landing_pages as (
    select
        user_pseudo_id,
        ga_session_id,
        page_path as landing_page_path
    from (
        select
            user_pseudo_id,
            ga_session_id,
            page_path,
            row_number() over (
                partition by user_pseudo_id, ga_session_id order by event_at
            ) as view_number
        from events
        where event_name = 'page_view'
    ) as views
    where view_number = 1
),

sessions as (
    select
        user_pseudo_id,
        ga_session_id,
        min(ga_session_number) as session_number,
        max(web_user_id) as web_user_id,
        min(event_at) as started_at,
        max(event_at) as ended_at,
        max(session_source) as session_source,
        max(session_medium) as session_medium,
        max(session_campaign_id) as session_campaign_id,
        sum(case when event_name = 'page_view' then 1 else 0 end) as page_views,
        coalesce(sum(engagement_time_msec), 0) / 1000.0 as engagement_seconds,
        sum(case when event_name = 'generate_lead' then 1 else 0 end) as lead_events,
        sum(case when event_name = 'purchase' then 1 else 0 end) as purchases,
        coalesce(sum(case when event_name = 'purchase' then purchase_revenue end), 0)
            as purchase_revenue,
        max(case when event_name = 'first_visit' then 1 else 0 end) = 1 as is_first_visit
    from events
    group by user_pseudo_id, ga_session_id
),

final as (
    select
        {{ surrogate_key(['sessions.user_pseudo_id', 'sessions.ga_session_id']) }}
            as session_key,
        sessions.*,
        landing_pages.landing_page_path
    from sessions
    left join landing_pages
        on
            sessions.user_pseudo_id = landing_pages.user_pseudo_id
            and sessions.ga_session_id = landing_pages.ga_session_id
)

select * from final
