-- One row per deal × funnel stage at or before the furthest stage the deal reached. A stage
-- the deal passed without a history row is a skipped stage: it counts as reached (the deal
-- got past it) and is flagged, as the funnel definition (docs/reference.md, stage_conversion) requires.
with

deals as (
    select
        deal_id,
        pipeline_id,
        manager_id
    from {{ ref('stg_crm__deals') }}
),

stages as (
    select
        stage_id,
        pipeline_id,
        stage_name,
        stage_position,
        is_won_stage
    from {{ ref('stg_crm__pipeline_stages') }}
    -- a lost stage is an outcome, not a step: a deal lost there was lost at the stage before
    where not is_lost_stage
),

history as (
    select
        deal_id,
        stage_id,
        manager_id,
        entered_at,
        exited_at
    from {{ ref('stg_crm__deal_stage_history') }}
),

visits as (
    select
        history.deal_id,
        history.stage_id,
        min(history.entered_at) as entered_at,
        max(history.exited_at) as exited_at,
        max(history.manager_id) as manager_id,
        count(*) as visit_count
    from history
    group by history.deal_id, history.stage_id
),

furthest as (
    select
        visits.deal_id,
        max(stages.stage_position) as furthest_stage_position
    from visits
    inner join stages on visits.stage_id = stages.stage_id
    group by visits.deal_id
),

reach as (
    select
        deals.deal_id,
        deals.manager_id as deal_manager_id,
        stages.stage_id,
        stages.stage_name,
        stages.stage_position,
        stages.is_won_stage,
        furthest.furthest_stage_position
    from deals
    inner join furthest on deals.deal_id = furthest.deal_id
    inner join stages
        on
            deals.pipeline_id = stages.pipeline_id
            and furthest.furthest_stage_position >= stages.stage_position
),

final as (
    select
        reach.deal_id,
        reach.stage_id,
        reach.stage_name,
        reach.stage_position,
        reach.is_won_stage,
        coalesce(visits.manager_id, reach.deal_manager_id) as manager_id,
        visits.entered_at,
        visits.exited_at,
        coalesce(visits.visit_count, 0) as visit_count,
        visits.deal_id is null as is_skipped,
        reach.stage_position < reach.furthest_stage_position as is_advanced,
        reach.stage_position = reach.furthest_stage_position as is_furthest,
        case
            when visits.exited_at is not null
                then {{ dbt.datediff('visits.entered_at', 'visits.exited_at', 'second') }} / cast(86400 as {{ type_double() }})
        end as days_in_stage
    from reach
    left join visits
        on
            reach.deal_id = visits.deal_id
            and reach.stage_id = visits.stage_id
)

select * from final
