-- One row per answered satisfaction survey: CSAT (1-5) and NPS (0-10) with the NPS
-- category, attributed to the ticket's manager and product.
with

responses as (
    select
        survey_response_id,
        ticket_id,
        customer_id,
        manager_id,
        csat,
        nps,
        sent_at,
        responded_at
    from {{ ref('stg_crm__survey_responses') }}
),

tickets as (
    select
        ticket_id,
        product_key
    from {{ ref('fct_tickets') }}
),

customers as (
    select customer_id from {{ ref('stg_crm__customers') }}
),

managers as (
    select manager_id from {{ ref('stg_crm__managers') }}
),

final as (
    select
        responses.survey_response_id,
        responses.ticket_id,
        coalesce(customers.customer_id, -1) as customer_key,
        coalesce(managers.manager_id, -1) as manager_key,
        coalesce(tickets.product_key, -1) as product_key,
        {{ date_key('responses.responded_at') }} as responded_date_key,
        responses.csat,
        responses.nps,
        case
            when responses.nps >= 9 then 'promoter'
            when responses.nps >= 7 then 'passive'
            else 'detractor'
        end as nps_category,
        responses.nps >= 9 as is_promoter,
        responses.nps <= 6 as is_detractor,
        responses.csat >= 4 as is_satisfied,
        case
            when responses.responded_at is not null
                then {{ dbt.datediff('responses.sent_at', 'responses.responded_at', 'second') }} / cast(3600 as {{ type_double() }})
        end as response_hours
    from responses
    left join tickets on responses.ticket_id = tickets.ticket_id
    left join customers on responses.customer_id = customers.customer_id
    left join managers on responses.manager_id = managers.manager_id
)

select * from final
