-- One row per campaign member (docs/reference.md): treatment or holdout, and whether they
-- placed a paid order within var('campaign_response_days') of the send, with its revenue.
-- A holdout member's "send" is when the campaign would have reached them.
-- incremental_revenue: a treated member's revenue minus the campaign's revenue per holdout
-- member (0 for holdout members), so its sum is the campaign's added revenue.
-- Control: retained = a paid order within var('campaign_retention_days') of the send;
-- was_active = a paid order within var('churn_horizon_days') before it; churned = active
-- and not retained. Final once is_retention_complete.
with

members as (
    select
        campaign_member_id,
        campaign_id,
        customer_id,
        member_group,
        sent_at
    from {{ ref('stg_crm__campaign_members') }}
),

campaigns as (
    select
        campaign_key,
        channel_key
    from {{ ref('dim_campaigns') }}
),

customers as (
    select customer_key from {{ ref('dim_customers') }}
),

paid_orders as (
    select
        customer_key,
        ordered_at,
        revenue
    from {{ ref('fct_orders') }}
    where is_paid
),

last_order as (
    select max(ordered_at) as last_ordered_at from {{ ref('fct_orders') }}
),

windows as (
    select
        members.*,
        {{ dbt.dateadd('day', var('campaign_response_days'), 'members.sent_at') }}
            as window_ends_at,
        {{ dbt.dateadd('day', var('campaign_retention_days'), 'members.sent_at') }}
            as retention_ends_at,
        {{ dbt.dateadd('day', '-' ~ var('churn_horizon_days'), 'members.sent_at') }}
            as active_since
    from members
),

responses as (
    -- one pass over each member's paid orders, from the churn horizon before the send to
    -- the later of the response and retention windows' ends
    select
        windows.campaign_member_id,
        count(
            case
                when
                    paid_orders.ordered_at >= windows.sent_at
                    and paid_orders.ordered_at < windows.window_ends_at then 1
            end
        ) as paid_orders,
        cast(coalesce(sum(
            case
                when
                    paid_orders.ordered_at >= windows.sent_at
                    and paid_orders.ordered_at < windows.window_ends_at
                    then paid_orders.revenue
                else 0
            end
        ), 0) as {{ type_double() }}) as response_revenue,
        count(
            case when paid_orders.ordered_at < windows.sent_at then 1 end
        ) > 0 as was_active,
        count(
            case
                when
                    paid_orders.ordered_at >= windows.sent_at
                    and paid_orders.ordered_at < windows.retention_ends_at then 1
            end
        ) > 0 as retained
    from windows
    left join paid_orders
        on
            windows.customer_id = paid_orders.customer_key
            and windows.active_since <= paid_orders.ordered_at
            and greatest(windows.window_ends_at, windows.retention_ends_at)
            > paid_orders.ordered_at
    group by windows.campaign_member_id
),

holdout_means as (
    select
        windows.campaign_id,
        avg(responses.response_revenue) as holdout_revenue_per_member
    from windows
    inner join responses on windows.campaign_member_id = responses.campaign_member_id
    where windows.member_group = 'holdout'
    group by windows.campaign_id
),

final as (
    select
        windows.campaign_member_id,
        coalesce(campaigns.campaign_key, -1) as campaign_key,
        coalesce(customers.customer_key, -1) as customer_key,
        coalesce(campaigns.channel_key, 'unknown') as channel_key,
        {{ date_key('windows.sent_at') }} as sent_date_key,
        windows.member_group,
        windows.member_group = 'treatment' as is_treatment,
        windows.sent_at,
        windows.window_ends_at,
        windows.window_ends_at <= last_order.last_ordered_at as is_window_complete,
        responses.paid_orders > 0 as responded,
        responses.response_revenue,
        case
            when windows.member_group = 'treatment'
                then
                    responses.response_revenue
                    - coalesce(holdout_means.holdout_revenue_per_member, 0)
            else 0
        end as incremental_revenue,
        windows.retention_ends_at <= last_order.last_ordered_at as is_retention_complete,
        responses.was_active,
        responses.retained,
        responses.was_active and not responses.retained as churned
    from windows
    cross join last_order
    left join responses on windows.campaign_member_id = responses.campaign_member_id
    left join campaigns on windows.campaign_id = campaigns.campaign_key
    left join customers on windows.customer_id = customers.customer_key
    left join holdout_means on windows.campaign_id = holdout_means.campaign_id
)

select * from final
