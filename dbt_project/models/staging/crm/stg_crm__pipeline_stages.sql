with

source as (
    {{ latest_version(raw_source('crm', 'crm_pipeline_stages'), 'stage_id') }}
),

renamed as (
    select
        stage_id,
        pipeline_id,
        name as stage_name,
        position as stage_position,
        coalesce(cast(is_won as boolean), false) as is_won_stage,
        -- a CRM that keeps lost deals in a stage of their own (amoCRM's 143, HubSpot's
        -- closedlost): that stage is an outcome, not a step of the funnel
        coalesce(cast(is_lost as boolean), false) as is_lost_stage
    from source
)

select * from renamed
