-- Accumulating snapshot of the sales funnel: one row per deal, with its furthest stage,
-- outcome, losing stage and reason, skipped stages and cycle length. The date it entered
-- each stage is in fct_deal_stage_transitions, and one column per stage of the CRM's own
-- funnel in rpt_deal_milestones (the stages differ per CRM; this table's columns do not).
with

deals as (
    select
        deal_id,
        deal_source_id,
        customer_id,
        manager_id,
        deal_status,
        lead_source,
        amount,
        campaign_id,
        utm_source,
        utm_medium,
        loss_reason_id,
        product_id,
        created_at,
        closed_at
    from {{ ref('stg_crm__deals') }}
),

reach as (
    select
        deal_id,
        stage_id,
        stage_name,
        stage_position,
        entered_at,
        is_skipped,
        is_furthest
    from {{ ref('int_deal_stage_reach') }}
),

utm_channels as (
    select
        campaign_id,
        utm_source,
        utm_medium,
        utm_campaign,
        channel_group,
        channel_key
    from {{ ref('int_utm_channels') }}
),

customers as (
    select customer_id from {{ ref('stg_crm__customers') }}
),

managers as (
    select manager_id from {{ ref('stg_crm__managers') }}
),

products as (
    select product_id from {{ ref('stg_crm__products') }}
),

loss_reasons as (
    select loss_reason_id from {{ ref('stg_crm__loss_reasons') }}
),

campaigns as (
    select campaign_id from {{ ref('stg_crm__campaigns') }}
),

milestones as (
    select
        deal_id,
        max(case when is_furthest then stage_id end) as furthest_stage_id,
        max(case when is_furthest then stage_name end) as furthest_stage_name,
        max(stage_position) as furthest_stage_position,
        sum(case when is_skipped then 1 else 0 end) as skipped_stage_count
    from reach
    group by deal_id
),

skipped as (
    select
        deal_id,
        {{ dbt.listagg('stage_name', "', '", 'order by stage_position') }} as skipped_stages
    from reach
    where is_skipped
    group by deal_id
),

final as (
    select
        deals.deal_id,
        deals.deal_source_id,
        coalesce(customers.customer_id, -1) as customer_key,
        coalesce(managers.manager_id, -1) as manager_key,
        coalesce(utm_channels.channel_key, 'unknown') as channel_key,
        coalesce(campaigns.campaign_id, -1) as campaign_key,
        -- a product the CRM names but its product list lacks (a misspelt name) keeps the
        -- deal's amount under the unknown product
        coalesce(products.product_id, -1) as product_key,
        coalesce(milestones.furthest_stage_id, -1) as furthest_stage_key,
        case
            when deals.deal_status = 'lost' then coalesce(milestones.furthest_stage_id, -1)
            else -1
        end as losing_stage_key,
        case
            when deals.deal_status = 'lost' then coalesce(loss_reasons.loss_reason_id, -1)
            else -1
        end as loss_reason_key,
        {{ date_key('deals.created_at') }} as created_date_key,
        {{ date_key('deals.closed_at') }} as closed_date_key,
        deals.lead_source,
        deals.deal_status,
        deals.deal_status = 'won' as is_won,
        deals.deal_status = 'lost' as is_lost,
        deals.deal_status = 'open' as is_open,
        deals.amount,
        case when deals.deal_status = 'won' then deals.amount else 0 end as won_amount,
        milestones.furthest_stage_position,
        milestones.furthest_stage_name,
        case
            when deals.deal_status = 'lost' then milestones.furthest_stage_name
        end as losing_stage_name,
        coalesce(milestones.skipped_stage_count, 0) as skipped_stage_count,
        skipped.skipped_stages,
        case
            when deals.closed_at is not null
                then {{ dbt.datediff('deals.created_at', 'deals.closed_at', 'second') }} / cast(86400 as {{ type_double() }})
        end as cycle_days,
        deals.created_at,
        deals.closed_at
    from deals
    left join milestones on deals.deal_id = milestones.deal_id
    left join skipped on deals.deal_id = skipped.deal_id
    left join loss_reasons on deals.loss_reason_id = loss_reasons.loss_reason_id
    left join customers on deals.customer_id = customers.customer_id
    left join managers on deals.manager_id = managers.manager_id
    left join campaigns on deals.campaign_id = campaigns.campaign_id
    left join products on deals.product_id = products.product_id
    left join utm_channels on {{ utm_channel_match('deals') }}
)

select * from final
