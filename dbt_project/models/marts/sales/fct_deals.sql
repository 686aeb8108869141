-- Accumulating snapshot of the sales funnel: one row per deal.
with

deals as (
    select
        deal_id,
        customer_id,
        manager_id,
        deal_status,
        amount,
        campaign_id,
        utm_source,
        utm_medium,
        loss_reason_id,
        created_at,
        closed_at
    from {{ ref('stg_crm__deals') }}
),

history as (
    select
        deal_id,
        stage_id
    from {{ ref('stg_crm__deal_stage_history') }}
),

stages as (
    select
        stage_id,
        stage_name,
        stage_position
    from {{ ref('stg_crm__pipeline_stages') }}
),

loss_reasons as (
    select
        loss_reason_id,
        loss_reason
    from {{ ref('stg_crm__loss_reasons') }}
),

utm_channels as (
    select
        campaign_id,
        utm_source,
        utm_medium,
        channel_key
    from {{ ref('int_utm_channels') }}
),

customers as (
    select customer_id from {{ ref('stg_crm__customers') }}
),

managers as (
    select manager_id from {{ ref('stg_crm__managers') }}
),

stage_reach as (
    select
        history.deal_id,
        max(stages.stage_position) as furthest_stage_position,
        count(distinct stages.stage_position) as stages_visited
    from history
    inner join stages on history.stage_id = stages.stage_id
    group by history.deal_id
),

furthest_stage as (
    select
        stage_reach.deal_id,
        stage_reach.furthest_stage_position,
        stages.stage_name as furthest_stage_name,
        stage_reach.furthest_stage_position - stage_reach.stages_visited as skipped_stages
    from stage_reach
    inner join stages on stage_reach.furthest_stage_position = stages.stage_position
),

final as (
    select
        deals.deal_id,
        coalesce(customers.customer_id, -1) as customer_key,
        coalesce(managers.manager_id, -1) as manager_key,
        coalesce(utm_channels.channel_key, 'unknown') as channel_key,
        {{ date_key('deals.created_at') }} as created_date_key,
        {{ date_key('deals.closed_at') }} as closed_date_key,
        deals.deal_status,
        deals.deal_status = 'won' as is_won,
        deals.deal_status = 'lost' as is_lost,
        deals.deal_status = 'open' as is_open,
        deals.amount,
        case when deals.deal_status = 'won' then deals.amount else 0 end as won_amount,
        furthest_stage.furthest_stage_position,
        furthest_stage.furthest_stage_name,
        furthest_stage.skipped_stages,
        case
            when deals.deal_status = 'lost' then furthest_stage.furthest_stage_name
        end as losing_stage_name,
        loss_reasons.loss_reason,
        case
            when deals.closed_at is not null
                then {{ dbt.datediff('deals.created_at', 'deals.closed_at', 'second') }} / 86400.0
        end as cycle_days,
        deals.created_at,
        deals.closed_at
    from deals
    left join furthest_stage on deals.deal_id = furthest_stage.deal_id
    left join loss_reasons on deals.loss_reason_id = loss_reasons.loss_reason_id
    left join customers on deals.customer_id = customers.customer_id
    left join managers on deals.manager_id = managers.manager_id
    left join utm_channels
        on
            deals.campaign_id is not distinct from utm_channels.campaign_id
            and deals.utm_source is not distinct from utm_channels.utm_source
            and deals.utm_medium is not distinct from utm_channels.utm_medium
)

select * from final
