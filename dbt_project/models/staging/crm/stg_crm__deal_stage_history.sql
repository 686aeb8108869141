with

source as (
    {{ latest_version(raw_source('crm', 'crm_deal_stage_history'), 'history_id') }}
),

renamed as (
    select
        history_id as deal_stage_history_id,
        deal_id,
        stage_id,
        manager_id,
        cast(entered_at as timestamp) as entered_at,
        cast(exited_at as timestamp) as exited_at
    from source
)

select * from renamed
