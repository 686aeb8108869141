-- The funnel's stages in order; stage_position orders them in every report and in the cube.
with

stages as (
    select
        stage_id,
        pipeline_id,
        stage_name,
        stage_position,
        is_won_stage,
        is_lost_stage
    from {{ ref('stg_crm__pipeline_stages') }}
),

pipelines as (
    select
        pipeline_id,
        pipeline_name
    from {{ ref('stg_crm__pipelines') }}
),

members as (
    select
        stages.stage_id as stage_key,
        stages.stage_id,
        coalesce(pipelines.pipeline_name, 'Unknown') as pipeline_name,
        stages.stage_name,
        stages.stage_position,
        stages.is_won_stage,
        stages.is_lost_stage,
        not stages.is_won_stage and not stages.is_lost_stage as is_open_stage
    from stages
    left join pipelines on stages.pipeline_id = pipelines.pipeline_id
),

unknown as (
    select
        -1 as stage_key,
        cast(null as integer) as stage_id,
        'Unknown' as pipeline_name,
        'Unknown' as stage_name,
        cast(null as integer) as stage_position,
        false as is_won_stage,
        false as is_lost_stage,
        false as is_open_stage
),

final as (
    select * from members
    union all
    select * from unknown
)

select * from final
