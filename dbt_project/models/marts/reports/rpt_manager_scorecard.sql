-- One row per manager: deals, wins, revenue, average check, calls, talk time, missed calls
-- (inbound calls no one answered, counted for the manager rung last), missed rings (the
-- manager's extension rang and was not answered) and call-back delay, skipped stages, service satisfaction, and the funnel stage where
-- the manager falls furthest behind the others.
with

managers as (
    select
        manager_key,
        manager_name,
        team_name
    from {{ ref('dim_managers') }}
),

deals as (
    select
        manager_key,
        count(*) as deals,
        sum(case when is_won then 1 else 0 end) as won_deals,
        sum(case when is_lost then 1 else 0 end) as lost_deals,
        sum(won_amount) as won_amount,
        sum(case when is_won or is_lost then amount else 0 end) as closed_amount,
        sum(case when skipped_stage_count > 0 then 1 else 0 end) as deals_with_skipped_stages,
        sum(cycle_days) as cycle_days_total,
        count(cycle_days) as closed_deals
    from {{ ref('fct_deals') }}
    group by manager_key
),

orders as (
    select
        manager_key,
        sum(case when is_paid then 1 else 0 end) as paid_orders,
        sum(revenue) as revenue
    from {{ ref('fct_orders') }}
    group by manager_key
),

calls as (
    select
        manager_key,
        sum(case when direction = 'outbound' then 1 else 0 end) as outbound_calls,
        sum(case when direction = 'inbound' then 1 else 0 end) as inbound_calls,
        sum(talk_seconds) as talk_seconds,
        sum(case when is_missed then 1 else 0 end) as missed_calls,
        sum(callback_delay_minutes) as callback_minutes_total,
        count(callback_delay_minutes) as callbacks
    from {{ ref('fct_calls') }}
    group by manager_key
),

rings as (
    select
        manager_key,
        sum(case when is_missed_ring then 1 else 0 end) as missed_rings
    from {{ ref('fct_call_legs') }}
    group by manager_key
),

service as (
    select
        manager_key,
        count(*) as survey_responses,
        sum(csat) as csat_total
    from {{ ref('fct_survey_responses') }}
    group by manager_key
),

weakest as (
    select
        manager_key,
        stage_name as weakest_stage,
        conversion as weakest_stage_conversion,
        peer_conversion as weakest_stage_peer_conversion,
        conversion_gap as weakest_stage_gap
    from {{ ref('rpt_manager_stage_conversion') }}
    where is_weakest_stage
),

final as (
    select
        managers.manager_key,
        managers.manager_name,
        managers.team_name,
        coalesce(deals.deals, 0) as deals,
        coalesce(deals.won_deals, 0) as won_deals,
        coalesce(deals.lost_deals, 0) as lost_deals,
        cast(deals.won_deals as {{ type_double() }}) / nullif(deals.won_deals + deals.lost_deals, 0) as win_rate,
        cast(deals.won_amount as {{ type_double() }}) / nullif(deals.closed_amount, 0) as win_rate_by_amount,
        coalesce(deals.won_amount, 0) as won_amount,
        deals.cycle_days_total / nullif(deals.closed_deals, 0) as avg_cycle_days,
        cast(deals.deals_with_skipped_stages as {{ type_double() }}) / nullif(deals.deals, 0) as skipped_stage_share,
        coalesce(orders.paid_orders, 0) as paid_orders,
        coalesce(orders.revenue, 0) as revenue,
        orders.revenue / nullif(orders.paid_orders, 0) as avg_check,
        coalesce(calls.outbound_calls, 0) as outbound_calls,
        coalesce(calls.inbound_calls, 0) as inbound_calls,
        coalesce(calls.talk_seconds, 0) / cast(60 as {{ type_double() }}) as talk_minutes,
        coalesce(calls.missed_calls, 0) as missed_calls,
        coalesce(rings.missed_rings, 0) as missed_rings,
        coalesce(calls.callbacks, 0) as callbacks,
        calls.callback_minutes_total / nullif(calls.callbacks, 0) as avg_callback_minutes,
        coalesce(service.survey_responses, 0) as survey_responses,
        cast(service.csat_total as {{ type_double() }}) / nullif(service.survey_responses, 0) as avg_csat,
        weakest.weakest_stage,
        weakest.weakest_stage_conversion,
        weakest.weakest_stage_peer_conversion,
        weakest.weakest_stage_gap,
        rank() over (
            order by cast(deals.won_deals as {{ type_double() }}) / nullif(deals.won_deals + deals.lost_deals, 0)
        ) as win_rate_rank_from_bottom
    from managers
    left join deals on managers.manager_key = deals.manager_key
    left join orders on managers.manager_key = orders.manager_key
    left join calls on managers.manager_key = calls.manager_key
    left join rings on managers.manager_key = rings.manager_key
    left join service on managers.manager_key = service.manager_key
    left join weakest on managers.manager_key = weakest.manager_key
    where managers.manager_key != -1
)

select * from final
