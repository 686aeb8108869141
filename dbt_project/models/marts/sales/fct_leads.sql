-- One row per lead: every deal starts as a lead at the Lead stage. First touch is the
-- customer's earliest touch up to the lead; last touch is the latest non-direct touch up to
-- the lead (the deal's own utm counts), or the latest touch if all were direct.
with

deals as (
    select
        deal_id,
        customer_key,
        manager_key,
        channel_key,
        created_date_key,
        lead_source,
        is_won,
        is_lost,
        amount,
        created_at
    from {{ ref('fct_deals') }}
),

touches as (
    select
        customer_id,
        touched_at,
        touch_order,
        channel_key,
        is_direct
    from {{ ref('int_customer_touches') }}
),

candidates as (
    select
        deals.deal_id,
        touches.channel_key,
        {{ touch_ranks('deals.deal_id') }}
    from deals
    inner join touches
        on
            deals.customer_key = touches.customer_id
            and deals.created_at >= touches.touched_at
),

attributed as (
    select
        deal_id,
        max(case when first_rank = 1 then channel_key end) as first_touch_channel_key,
        max(case when last_rank = 1 then channel_key end) as last_touch_channel_key,
        count(*) as touches_before_lead
    from candidates
    group by deal_id
),

final as (
    select
        deals.deal_id as lead_id,
        deals.customer_key,
        deals.manager_key,
        deals.created_date_key as lead_date_key,
        coalesce(attributed.first_touch_channel_key, deals.channel_key) as first_touch_channel_key,
        coalesce(attributed.last_touch_channel_key, deals.channel_key) as last_touch_channel_key,
        deals.channel_key as deal_channel_key,
        deals.lead_source,
        coalesce(attributed.touches_before_lead, 0) as touches_before_lead,
        deals.is_won as is_converted,
        deals.is_lost,
        deals.amount,
        deals.created_at
    from deals
    left join attributed on deals.deal_id = attributed.deal_id
)

select * from final
