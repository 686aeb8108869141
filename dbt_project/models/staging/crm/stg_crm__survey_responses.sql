with

source as (
    {{ latest_version(raw_source('crm', 'crm_survey_responses'), 'survey_response_id') }}
),

renamed as (
    select
        survey_response_id,
        ticket_id,
        customer_id,
        manager_id,
        csat,
        nps,
        cast(sent_at as timestamp) as sent_at,
        cast(responded_at as timestamp) as responded_at
    from source
)

select * from renamed
