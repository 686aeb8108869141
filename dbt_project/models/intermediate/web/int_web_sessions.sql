-- One row per web session (user_pseudo_id × ga_session_id): when, where from (its traffic
-- tags and the CRM campaign they name), what it did (each purchase counted once).
with

counted_purchases as (
    select event_id
    from {{ ref('int_web_purchases') }}
    where is_counted
),

campaigns as (
    select
        campaign_id,
        utm_campaign
    from {{ ref('stg_crm__campaigns') }}
),

campaigns_by_name as (
    select
        lower(utm_campaign) as utm_campaign,
        min(campaign_id) as campaign_id
    from campaigns
    group by lower(utm_campaign)
),

events as (
    select
        events.event_id,
        events.user_pseudo_id,
        events.ga_session_id,
        events.ga_session_number,
        events.web_user_id,
        events.event_name,
        events.event_at,
        events.page_path,
        events.engagement_time_msec,
        events.session_source,
        events.session_medium,
        events.session_campaign_id,
        events.session_campaign_name,
        events.session_channel_group,
        counted_purchases.event_id is not null as is_counted_purchase,
        events.purchase_revenue
    from {{ ref('stg_web__events') }} as events
    left join counted_purchases on events.event_id = counted_purchases.event_id
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
        max(session_campaign_name) as session_campaign_name,
        max(session_channel_group) as session_channel_group,
        sum(case when event_name = 'page_view' then 1 else 0 end) as page_views,
        coalesce(sum(engagement_time_msec), 0) / cast(1000 as {{ type_double() }}) as engagement_seconds,
        sum(case when event_name = 'generate_lead' then 1 else 0 end) as lead_events,
        sum(case when is_counted_purchase then 1 else 0 end) as purchases,
        coalesce(sum(case when is_counted_purchase then purchase_revenue end), 0)
            as purchase_revenue,
        max(case when event_name = 'first_visit' then 1 else 0 end) = 1 as is_first_visit
    from events
    group by user_pseudo_id, ga_session_id
),

-- the CRM campaign a session's tags name: its id (utm_id) or its utm_campaign
session_campaigns as (
    select
        sessions.*,
        coalesce(by_id.campaign_id, by_name.campaign_id) as campaign_id
    from sessions
    left join campaigns as by_id
        on sessions.session_campaign_id = cast(by_id.campaign_id as {{ dbt.type_string() }})
    left join campaigns_by_name as by_name
        on lower(sessions.session_campaign_name) = by_name.utm_campaign
),

final as (
    select
        {{ surrogate_key(['sessions.user_pseudo_id', 'sessions.ga_session_id']) }}
            as session_key,
        sessions.*,
        landing_pages.landing_page_path
    from session_campaigns as sessions
    left join landing_pages
        on
            sessions.user_pseudo_id = landing_pages.user_pseudo_id
            and sessions.ga_session_id = landing_pages.ga_session_id
)

select * from final
