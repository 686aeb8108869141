{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='partition_date',
        on_schema_change='fail'
    )
}}
-- One row per GA4 event, with its session, page, channel and (for logged-in users) customer.
-- Times are UTC, as GA4 exports them.
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
        session_source,
        session_medium,
        session_campaign_id,
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

utm_channels as (
    select
        campaign_id,
        utm_source,
        utm_medium,
        channel_key
    from {{ ref('int_utm_channels') }}
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
        coalesce(events.engagement_time_msec, 0) / 1000.0 as engagement_seconds,
        events.percent_scrolled,
        events.event_name = 'page_view' as is_page_view,
        events.event_name = 'generate_lead' as is_lead,
        events.event_name = 'purchase' as is_purchase,
        events.transaction_id,
        case when events.event_name = 'purchase' then events.purchase_revenue else 0 end
            as purchase_revenue,
        events.partition_date,
        events.loaded_at
    from events
    left join web_users on events.web_user_id = web_users.web_user_id
    left join utm_channels on {{ utm_channel_match('events', 'session_campaign_id', 'session_source', 'session_medium') }}
)

select * from final
