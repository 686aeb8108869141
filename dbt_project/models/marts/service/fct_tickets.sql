-- One row per service ticket: who, which product, how fast it was resolved, and the
-- satisfaction the customer reported afterwards (if they answered the survey).
with

tickets as (
    select
        ticket_id,
        customer_id,
        manager_id,
        product_id,
        ticket_status,
        priority,
        ticket_channel,
        opened_at,
        resolved_at
    from {{ ref('stg_crm__tickets') }}
),

surveys as (
    select
        ticket_id,
        min(csat) as csat,
        min(nps) as nps
    from {{ ref('stg_crm__survey_responses') }}
    group by ticket_id
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

final as (
    select
        tickets.ticket_id,
        coalesce(customers.customer_id, -1) as customer_key,
        coalesce(managers.manager_id, -1) as manager_key,
        coalesce(products.product_id, -1) as product_key,
        {{ date_key('tickets.opened_at') }} as opened_date_key,
        {{ date_key('tickets.resolved_at') }} as resolved_date_key,
        tickets.ticket_status,
        tickets.priority,
        tickets.ticket_channel,
        tickets.resolved_at is not null as is_resolved,
        tickets.opened_at,
        tickets.resolved_at,
        case
            when tickets.resolved_at is not null
                then {{ dbt.datediff('tickets.opened_at', 'tickets.resolved_at', 'second') }} / cast(3600 as {{ type_double() }})
        end as resolution_hours,
        surveys.csat,
        surveys.nps
    from tickets
    left join surveys on tickets.ticket_id = surveys.ticket_id
    left join customers on tickets.customer_id = customers.customer_id
    left join managers on tickets.manager_id = managers.manager_id
    left join products on tickets.product_id = products.product_id
)

select * from final
