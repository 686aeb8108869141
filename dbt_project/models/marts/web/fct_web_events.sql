{{
    config(
        materialized=incremental_materialization(),
        incremental_strategy='delete+insert',
        unique_key='partition_date',
        on_schema_change='fail'
    )
}}
-- One row per GA4 event, with its session, page, the session's channel and (for logged-in
-- users) customer; a purchase counts once per transaction_id. Times are UTC, as GA4
-- exports them.
with

events as (
    select
        event_id,
        event_date,
        event_at,
        event_name,
        user_pseudo_id,
        ga_session_id,
        web_user_id,
        page_path,
        engagement_time_msec,
        percent_scrolled,
        form_id,
        device_category,
        transaction_id,
        purchase_revenue,
        partition_date,
        loaded_at
    from {{ ref('stg_web__events') }}
    {% if is_incremental() -%}
        where partition_date >= {{ first_day_to_reprocess(ref('stg_web__events'), 'partition_date') }}
    {%- endif %}
),

web_users as (
    select
        web_user_id,
        customer_id
    from {{ ref('stg_identity__web_users') }}
),

-- the channel is the session's: GA4 writes a session's tags on some of its events only
sessions as (
    select
        user_pseudo_id,
        ga_session_id,
        campaign_id,
        session_source,
        session_medium,
        session_campaign_name,
        session_channel_group
    from {{ ref('int_web_sessions') }}
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

counted_purchases as (
    select event_id
    from {{ ref('int_web_purchases') }}
    where is_counted
),

final as (
    select
        events.event_id,
        {{ surrogate_key(['events.user_pseudo_id', 'events.ga_session_id']) }} as session_key,
        {{ date_key('events.event_date') }} as event_date_key,
        coalesce(cast(extract(hour from events.event_at) as integer), -1) as hour_key,
        coalesce(web_users.customer_id, -1) as customer_key,
        coalesce(utm_channels.channel_key, 'unknown') as channel_key,
        case
            when events.page_path is null then 'unknown'
            else {{ surrogate_key(['events.page_path']) }}
        end as content_key,
        events.event_at,
        events.event_name,
        events.user_pseudo_id,
        events.device_category,
        events.form_id,
        coalesce(events.engagement_time_msec, 0) / cast(1000 as {{ type_double() }}) as engagement_seconds,
        events.percent_scrolled,
        events.event_name = 'page_view' as is_page_view,
        events.event_name = 'generate_lead' as is_lead,
        -- a purchase counts once per transaction_id (GA4 repeats the event)
        counted_purchases.event_id is not null as is_purchase,
        events.transaction_id,
        case when counted_purchases.event_id is not null then events.purchase_revenue else 0 end
            as purchase_revenue,
        events.partition_date,
        events.loaded_at
    from events
    left join web_users on events.web_user_id = web_users.web_user_id
    left join sessions
        on
            events.user_pseudo_id = sessions.user_pseudo_id
            and events.ga_session_id is not distinct from sessions.ga_session_id
    left join utm_channels on {{ utm_channel_match(
        'sessions', 'campaign_id', 'session_source', 'session_medium',
        'session_campaign_name', 'session_channel_group') }}
    left join counted_purchases on events.event_id = counted_purchases.event_id
)

select * from final
