-- Service by manager × product: tickets, resolution time, CSAT and NPS
-- (NPS = % promoters - % detractors, from -100 to 100).
with

tickets as (
    select
        manager_key,
        product_key,
        is_resolved,
        resolution_hours
    from {{ ref('fct_tickets') }}
),

responses as (
    select
        manager_key,
        product_key,
        csat,
        is_promoter,
        is_detractor
    from {{ ref('fct_survey_responses') }}
),

ticket_stats as (
    select
        manager_key,
        product_key,
        count(*) as tickets,
        sum(case when is_resolved then 1 else 0 end) as resolved_tickets,
        sum(resolution_hours) as resolution_hours_total,
        {{ median('resolution_hours') }} as median_resolution_hours
    from tickets
    group by manager_key, product_key
),

survey_stats as (
    select
        manager_key,
        product_key,
        count(*) as responses,
        sum(csat) as csat_total,
        sum(case when is_promoter then 1 else 0 end) as promoters,
        sum(case when is_detractor then 1 else 0 end) as detractors
    from responses
    group by manager_key, product_key
),

managers as (
    select
        manager_key,
        manager_name,
        team_name
    from {{ ref('dim_managers') }}
),

products as (
    select
        product_key,
        product_name,
        category_name
    from {{ ref('dim_products') }}
),

final as (
    select
        {{ surrogate_key(['ticket_stats.manager_key', 'ticket_stats.product_key']) }}
            as service_row_key,
        ticket_stats.manager_key,
        managers.manager_name,
        managers.team_name,
        ticket_stats.product_key,
        products.product_name,
        products.category_name,
        ticket_stats.tickets,
        ticket_stats.resolved_tickets,
        ticket_stats.resolution_hours_total / nullif(ticket_stats.resolved_tickets, 0)
            as avg_resolution_hours,
        ticket_stats.median_resolution_hours,
        coalesce(survey_stats.responses, 0) as responses,
        cast(survey_stats.csat_total as {{ type_double() }}) / nullif(survey_stats.responses, 0) as avg_csat,
        coalesce(survey_stats.promoters, 0) as promoters,
        coalesce(survey_stats.detractors, 0) as detractors,
        cast(100 as {{ type_double() }}) * (survey_stats.promoters - survey_stats.detractors)
        / nullif(survey_stats.responses, 0) as nps
    from ticket_stats
    inner join managers on ticket_stats.manager_key = managers.manager_key
    inner join products on ticket_stats.product_key = products.product_key
    left join survey_stats
        on
            ticket_stats.manager_key = survey_stats.manager_key
            and ticket_stats.product_key = survey_stats.product_key
)

select * from final
