-- One row per campaign with members: the treated against the random holdout on purchase
-- within var('campaign_response_days') (docs/reference.md: campaign uplift), its 95 %
-- interval (Agresti-Caffo, macro uplift_bound), and the revenue the campaign added.
-- "too early" while a member's response window is still open.
-- Control, for the same groups: revenue per member with its 95 % interval (normal
-- approximation), retention (a paid order within var('campaign_retention_days')) and,
-- among members active before the send, churn (not retained), each treated against
-- holdout with its interval; null until every member's retention window has closed.
with

members as (
    select
        campaign_key,
        is_treatment,
        responded,
        response_revenue,
        is_window_complete,
        is_retention_complete,
        was_active,
        retained,
        churned
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
        min(case when is_window_complete then 1 else 0 end) = 1 as is_window_complete,
        cast(var_samp(case when is_treatment then response_revenue end) as {{ type_double() }})
            as treated_revenue_variance,
        cast(var_samp(case when not is_treatment then response_revenue end) as {{ type_double() }})
            as holdout_revenue_variance,
        count(case when is_treatment and retained then 1 end) as treated_retained,
        count(case when not is_treatment and retained then 1 end) as holdout_retained,
        count(case when is_treatment and was_active then 1 end) as treated_active,
        count(case when not is_treatment and was_active then 1 end) as holdout_active,
        count(case when is_treatment and churned then 1 end) as treated_churned,
        count(case when not is_treatment and churned then 1 end) as holdout_churned,
        min(case when is_retention_complete then 1 else 0 end) = 1 as is_retention_complete
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
            as holdout_revenue_per_member,
        treated_retained / nullif(cast(treated as {{ type_double() }}), 0) as treated_retention,
        holdout_retained / nullif(cast(holdout as {{ type_double() }}), 0) as holdout_retention,
        treated_churned / nullif(cast(treated_active as {{ type_double() }}), 0) as treated_churn,
        holdout_churned / nullif(cast(holdout_active as {{ type_double() }}), 0) as holdout_churn
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
            as incremental_revenue,
        treated_revenue_per_member - holdout_revenue_per_member as revenue_uplift,
        {{ mean_difference_bound(
            'treated_revenue_per_member', 'treated_revenue_variance', 'treated',
            'holdout_revenue_per_member', 'holdout_revenue_variance', 'holdout', -1
        ) }} as revenue_uplift_low,
        {{ mean_difference_bound(
            'treated_revenue_per_member', 'treated_revenue_variance', 'treated',
            'holdout_revenue_per_member', 'holdout_revenue_variance', 'holdout', 1
        ) }} as revenue_uplift_high,
        treated_retention - holdout_retention as retention_uplift,
        {{ uplift_bound('treated_retained', 'treated', 'holdout_retained', 'holdout', -1) }}
            as retention_uplift_low,
        {{ uplift_bound('treated_retained', 'treated', 'holdout_retained', 'holdout', 1) }}
            as retention_uplift_high,
        treated_churn - holdout_churn as churn_change,
        {{ uplift_bound('treated_churned', 'treated_active', 'holdout_churned', 'holdout_active', -1) }}
            as churn_change_low,
        {{ uplift_bound('treated_churned', 'treated_active', 'holdout_churned', 'holdout_active', 1) }}
            as churn_change_high
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
        effects.revenue_uplift,
        effects.revenue_uplift_low,
        effects.revenue_uplift_high,
        effects.is_retention_complete,
        case when effects.is_retention_complete then effects.treated_retention end as treated_retention,
        case when effects.is_retention_complete then effects.holdout_retention end as holdout_retention,
        case when effects.is_retention_complete then effects.retention_uplift end as retention_uplift,
        case when effects.is_retention_complete then effects.retention_uplift_low end as retention_uplift_low,
        case when effects.is_retention_complete then effects.retention_uplift_high end as retention_uplift_high,
        case when effects.is_retention_complete then effects.treated_churn end as treated_churn,
        case when effects.is_retention_complete then effects.holdout_churn end as holdout_churn,
        case when effects.is_retention_complete then effects.churn_change end as churn_change,
        case when effects.is_retention_complete then effects.churn_change_low end as churn_change_low,
        case when effects.is_retention_complete then effects.churn_change_high end as churn_change_high,
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
