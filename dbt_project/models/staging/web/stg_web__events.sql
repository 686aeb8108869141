with

source as (
    select * from {{ source('web', 'ga4_events') }}
),

renamed as (
    select
        event_date,
        event_at,
        event_name,
        user_pseudo_id,
        user_id as web_user_id,
        ga_session_id,
        ga_session_number,
        page_location,
        page_title,
        engagement_time_msec,
        device_category,
        session_source,
        session_medium,
        cast(session_campaign_id as integer) as session_campaign_id,
        session_campaign_name,
        transaction_id,
        purchase_revenue,
        _source_file as source_file,
        _line_number as source_line
    from source
)

select * from renamed
