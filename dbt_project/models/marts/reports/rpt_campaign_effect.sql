-- One row per campaign with members: the treated against the random holdout on purchase
-- within var('campaign_response_days') (docs/reference.md: campaign uplift), its 95 %
-- interval (Agresti-Caffo, macro uplift_bound), and the revenue the campaign added.
-- "too early" while a member's response window is still open.
with

members as (
    select
        campaign_key,
        is_treatment,
        responded,
        response_revenue,
        is_window_complete
    from {{ ref('fct_campaign_members') }}
),

campaigns as (
    select
        campaign_key,
        campaign_name,
        channel
    from {{ ref('dim_campaigns') }}
),

groups as (
    select
        campaign_key,
        count(case when is_treatment then 1 end) as treated,
        count(case when not is_treatment then 1 end) as holdout,
        count(case when is_treatment and responded then 1 end) as treated_responders,
        count(case when not is_treatment and responded then 1 end) as holdout_responders,
        sum(case when is_treatment then response_revenue else 0 end) as treated_revenue,
        sum(case when is_treatment then 0 else response_revenue end) as holdout_revenue,
        min(case when is_window_complete then 1 else 0 end) = 1 as is_window_complete
    from members
    group by campaign_key
),

rates as (
    select
        *,
        treated_responders / nullif(cast(treated as {{ type_double() }}), 0) as treated_rate,
        holdout_responders / nullif(cast(holdout as {{ type_double() }}), 0) as holdout_rate,
        treated_revenue / nullif(cast(treated as {{ type_double() }}), 0)
            as treated_revenue_per_member,
        holdout_revenue / nullif(cast(holdout as {{ type_double() }}), 0)
            as holdout_revenue_per_member
    from groups
),

effects as (
    select
        *,
        treated_rate - holdout_rate as uplift,
        {{ uplift_bound('treated_responders', 'treated', 'holdout_responders', 'holdout', -1) }}
            as uplift_low,
        {{ uplift_bound('treated_responders', 'treated', 'holdout_responders', 'holdout', 1) }}
            as uplift_high,
        (treated_revenue_per_member - holdout_revenue_per_member) * treated
            as incremental_revenue
    from rates
),

final as (
    select
        effects.campaign_key,
        campaigns.campaign_name,
        campaigns.channel,
        effects.treated,
        effects.holdout,
        effects.treated_responders,
        effects.holdout_responders,
        effects.treated_rate,
        effects.holdout_rate,
        effects.uplift,
        effects.uplift_low,
        effects.uplift_high,
        effects.treated_revenue_per_member,
        effects.holdout_revenue_per_member,
        effects.incremental_revenue,
        effects.is_window_complete,
        case
            when not effects.is_window_complete then 'too early'
            when effects.holdout = 0 then 'no holdout'
            when effects.uplift_low > 0 then 'worked'
            when effects.uplift_high < 0 then 'harmed'
            else 'no effect shown'
        end as verdict
    from effects
    left join campaigns on effects.campaign_key = campaigns.campaign_key
)

select * from final
