with

source as (
    select * from {{ raw_source('web', 'ga4_events') }}
),

renamed as (
    select
        {{ surrogate_key(['_source_file', '_line_number']) }} as event_id,
        event_date,
        event_at,
        event_name,
        user_pseudo_id,
        user_id as web_user_id,
        ga_session_id,
        ga_session_number,
        page_location,
        {{ url_path('page_location') }} as page_path,
        page_title,
        engagement_time_msec,
        percent_scrolled,
        form_id,
        device_category,
        first_user_source,
        first_user_medium,
        -- a click id alone (auto-tagged Google Ads) is google / cpc, as GA4 reads it
        coalesce(session_source, case when gclid is not null then 'google' end) as session_source,
        coalesce(session_medium, case when gclid is not null then 'cpc' end) as session_medium,
        session_campaign_id,
        session_campaign_name,
        session_channel_group,
        transaction_id,
        purchase_revenue,
        _partition as partition_date,
        _source_file as source_file,
        _line_number as source_line,
        _loaded_at as loaded_at
    from source
)

select * from renamed
