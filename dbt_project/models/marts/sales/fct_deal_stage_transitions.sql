-- One row per deal × funnel stage the deal reached (skipped stages included and flagged):
-- when it entered and left, how long it stayed, whether it moved on, and whether it was
-- lost there. Stage conversion = sum(is_advanced) / count(*) at a stage.
with

reach as (
    select
        deal_id,
        stage_id,
        stage_position,
        manager_id,
        entered_at,
        exited_at,
        days_in_stage,
        is_skipped,
        is_advanced,
        is_furthest
    from {{ ref('int_deal_stage_reach') }}
),

deals as (
    select
        deal_id,
        customer_key,
        manager_key,
        channel_key,
        created_date_key,
        loss_reason_key,
        is_won,
        is_lost,
        is_open
    from {{ ref('fct_deals') }}
),

managers as (
    select manager_id from {{ ref('stg_crm__managers') }}
),

final as (
    select
        {{ surrogate_key(['reach.deal_id', 'reach.stage_id']) }} as deal_stage_key,
        reach.deal_id,
        reach.stage_id as stage_key,
        reach.stage_position,
        deals.customer_key,
        coalesce(managers.manager_id, deals.manager_key) as manager_key,
        deals.channel_key,
        deals.created_date_key as deal_created_date_key,
        {{ date_key('reach.entered_at') }} as entered_date_key,
        reach.entered_at,
        reach.exited_at,
        reach.days_in_stage,
        reach.is_skipped,
        reach.is_advanced,
        reach.is_furthest,
        reach.is_furthest and deals.is_lost as is_lost_here,
        reach.is_furthest and deals.is_open as is_open_here,
        reach.is_furthest and deals.is_won as is_won_here,
        case when reach.is_furthest and deals.is_lost then deals.loss_reason_key else -1 end
            as loss_reason_key
    from reach
    inner join deals on reach.deal_id = deals.deal_id
    left join managers on reach.manager_id = managers.manager_id
)

select * from final
