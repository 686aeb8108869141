-- One row per manager × open funnel stage: the manager's conversion out of the stage next
-- to everyone else's, and the gap. The stage with the most negative gap is where the
-- manager needs coaching (is_weakest_stage).
with

transitions as (
    select
        manager_key,
        stage_key,
        is_advanced
    from {{ ref('fct_deal_stage_transitions') }}
),

stages as (
    select
        stage_key,
        stage_name,
        stage_position
    from {{ ref('dim_funnel_stages') }}
    where is_open_stage
),

by_manager as (
    select
        transitions.manager_key,
        transitions.stage_key,
        count(*) as deals_reached,
        sum(case when transitions.is_advanced then 1 else 0 end) as deals_advanced
    from transitions
    inner join stages on transitions.stage_key = stages.stage_key
    group by transitions.manager_key, transitions.stage_key
),

by_stage as (
    select
        stage_key,
        sum(deals_reached) as deals_reached,
        sum(deals_advanced) as deals_advanced
    from by_manager
    group by stage_key
),

compared as (
    select
        by_manager.manager_key,
        by_manager.stage_key,
        by_manager.deals_reached,
        by_manager.deals_advanced,
        cast(by_manager.deals_advanced as {{ type_double() }}) / by_manager.deals_reached as conversion,
        cast(by_stage.deals_advanced - by_manager.deals_advanced as {{ type_double() }})
        / nullif(by_stage.deals_reached - by_manager.deals_reached, 0) as peer_conversion
    from by_manager
    inner join by_stage on by_manager.stage_key = by_stage.stage_key
),

ranked as (
    select
        compared.*,
        compared.conversion - compared.peer_conversion as conversion_gap,
        row_number() over (
            partition by compared.manager_key
            order by compared.conversion - compared.peer_conversion, compared.stage_key
        ) as gap_rank
    from compared
),

final as (
    select
        {{ surrogate_key(['ranked.manager_key', 'ranked.stage_key']) }} as manager_stage_key,
        ranked.manager_key,
        ranked.stage_key,
        stages.stage_name,
        stages.stage_position,
        ranked.deals_reached,
        ranked.deals_advanced,
        ranked.conversion,
        ranked.peer_conversion,
        ranked.conversion_gap,
        ranked.gap_rank = 1 as is_weakest_stage
    from ranked
    inner join stages on ranked.stage_key = stages.stage_key
)

select * from final
