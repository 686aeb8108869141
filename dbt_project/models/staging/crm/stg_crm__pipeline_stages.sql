with

source as (
    {{ latest_version(source('crm', 'crm_pipeline_stages'), 'stage_id') }}
),

renamed as (
    select
        stage_id,
        pipeline_id,
        name as stage_name,
        position as stage_position,
        cast(is_won as boolean) as is_won_stage
    from source
)

select * from renamed
