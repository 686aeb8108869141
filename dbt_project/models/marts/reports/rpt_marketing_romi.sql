-- Month × attribution model × channel member (channel > source > campaign): spend,
-- attributed revenue and orders, leads, ROMI, CPL, CPO and ad share of revenue. Spend does
-- not depend on the model: it repeats under each. Leads are credited by their last
-- non-direct touch under every model (the convention for CPL). Roll up by summing the
-- amounts first, then dividing.
with

dates as (
    select
        date_key,
        month
    from {{ ref('dim_dates') }}
),

models as (
    select attribution_model from {{ ref('dim_attribution_models') }}
),

spend as (
    select
        dates.month,
        spend.channel_key,
        sum(spend.spend) as spend
    from {{ ref('fct_marketing_spend') }} as spend
    inner join dates on spend.spend_date_key = dates.date_key
    group by dates.month, spend.channel_key
),

revenue as (
    select
        dates.month,
        credits.attribution_model,
        credits.channel_key,
        sum(credits.attributed_revenue) as attributed_revenue,
        sum(credits.weight) as attributed_orders
    from {{ ref('fct_attributed_revenue') }} as credits
    inner join dates on credits.order_date_key = dates.date_key
    group by dates.month, credits.attribution_model, credits.channel_key
),

leads as (
    select
        dates.month,
        leads.last_touch_channel_key as channel_key,
        count(*) as leads
    from {{ ref('fct_leads') }} as leads
    inner join dates on leads.lead_date_key = dates.date_key
    group by dates.month, leads.last_touch_channel_key
),

cells as (
    select
        month,
        channel_key
    from spend
    union
    select
        month,
        channel_key
    from revenue
    union
    select
        month,
        channel_key
    from leads
),

grid as (
    select
        cells.month,
        models.attribution_model,
        cells.channel_key
    from cells
    cross join models
),

channels as (
    select
        channel_key,
        channel,
        source,
        campaign_name
    from {{ ref('dim_channels') }}
),

final as (
    select
        {{ surrogate_key(['grid.month', 'grid.attribution_model', 'grid.channel_key']) }}
            as romi_row_key,
        grid.month,
        grid.attribution_model,
        grid.channel_key,
        channels.channel,
        channels.source,
        channels.campaign_name,
        coalesce(spend.spend, 0) as spend,
        coalesce(revenue.attributed_revenue, 0) as attributed_revenue,
        coalesce(revenue.attributed_orders, 0) as attributed_orders,
        coalesce(leads.leads, 0) as leads,
        cast(coalesce(revenue.attributed_revenue, 0) - spend.spend as {{ type_double() }})
        / nullif(spend.spend, 0) as romi,
        cast(spend.spend as {{ type_double() }}) / nullif(leads.leads, 0) as cpl,
        cast(spend.spend as {{ type_double() }}) / nullif(revenue.attributed_orders, 0) as cpo,
        cast(spend.spend as {{ type_double() }}) / nullif(revenue.attributed_revenue, 0) as ad_share_of_revenue
    from grid
    inner join channels on grid.channel_key = channels.channel_key
    left join spend on grid.month = spend.month and grid.channel_key = spend.channel_key
    left join revenue
        on
            grid.month = revenue.month
            and grid.attribution_model = revenue.attribution_model
            and grid.channel_key = revenue.channel_key
    left join leads on grid.month = leads.month and grid.channel_key = leads.channel_key
)

select * from final
