-- Funnel by deal-creation month × stage × manager × channel: deals that reached the stage,
-- moved on, were lost or are still open there. stage_conversion = advanced / reached (null
-- at the won stage, the end of the funnel); dropoff_rate = lost here / reached. Sum the
-- counts before dividing when rolling up.
with

transitions as (
    select
        deal_created_date_key,
        stage_key,
        manager_key,
        channel_key,
        is_advanced,
        is_lost_here,
        is_open_here,
        is_skipped,
        days_in_stage
    from {{ ref('fct_deal_stage_transitions') }}
),

dates as (
    select
        date_key,
        month
    from {{ ref('dim_dates') }}
),

stages as (
    select
        stage_key,
        stage_name,
        stage_position,
        is_won_stage
    from {{ ref('dim_funnel_stages') }}
),

managers as (
    select
        manager_key,
        manager_name,
        team_name
    from {{ ref('dim_managers') }}
),

channels as (
    select
        channel_key,
        channel
    from {{ ref('dim_channels') }}
),

aggregated as (
    select
        dates.month,
        transitions.stage_key,
        transitions.manager_key,
        transitions.channel_key,
        count(*) as deals_reached,
        sum(case when transitions.is_advanced then 1 else 0 end) as deals_advanced,
        sum(case when transitions.is_lost_here then 1 else 0 end) as deals_lost,
        sum(case when transitions.is_open_here then 1 else 0 end) as deals_open,
        sum(case when transitions.is_skipped then 1 else 0 end) as deals_skipped,
        sum(transitions.days_in_stage) as days_in_stage_total,
        count(transitions.days_in_stage) as stays_measured
    from transitions
    inner join dates on transitions.deal_created_date_key = dates.date_key
    group by dates.month, transitions.stage_key, transitions.manager_key, transitions.channel_key
),

final as (
    select
        {{ surrogate_key(['aggregated.month', 'aggregated.stage_key', 'aggregated.manager_key',
                          'aggregated.channel_key']) }} as funnel_row_key,
        aggregated.month,
        aggregated.stage_key,
        stages.stage_name,
        stages.stage_position,
        aggregated.manager_key,
        managers.manager_name,
        managers.team_name,
        aggregated.channel_key,
        channels.channel,
        aggregated.deals_reached,
        aggregated.deals_advanced,
        aggregated.deals_lost,
        aggregated.deals_open,
        aggregated.deals_skipped,
        aggregated.days_in_stage_total,
        aggregated.stays_measured,
        -- the won stage is the end of the funnel: nothing to convert to
        case
            when not stages.is_won_stage
                then cast(aggregated.deals_advanced as {{ type_double() }}) / aggregated.deals_reached
        end as stage_conversion,
        cast(aggregated.deals_lost as {{ type_double() }}) / aggregated.deals_reached as dropoff_rate
    from aggregated
    inner join stages on aggregated.stage_key = stages.stage_key
    inner join managers on aggregated.manager_key = managers.manager_key
    inner join channels on aggregated.channel_key = channels.channel_key
)

select * from final
