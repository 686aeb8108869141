with

customers as (
    select
        customer_id,
        segment,
        status,
        region,
        city,
        timezone,
        gender,
        birth_date,
        income_band,
        education,
        owner_manager_id,
        created_at
    from {{ ref('stg_crm__customers') }}
),

managers as (
    select manager_id from {{ ref('stg_crm__managers') }}
),

aged as (
    select
        *,
        floor({{ dbt.datediff('birth_date', 'created_at', 'day') }} / cast(365.25 as {{ type_double() }})) as age_at_signup
    from customers
),

profiled as (
    select
        customers.customer_id as customer_key,
        customers.customer_id,
        customers.segment,
        customers.status,
        customers.region,
        customers.city,
        customers.timezone,
        customers.gender,
        case
            when customers.birth_date is null then 'Unknown'
            when customers.age_at_signup < 25 then '18-24'
            when customers.age_at_signup < 35 then '25-34'
            when customers.age_at_signup < 45 then '35-44'
            when customers.age_at_signup < 55 then '45-54'
            else '55+'
        end as age_band,
        customers.income_band,
        customers.education,
        coalesce(managers.manager_id, -1) as owner_manager_key,
        {{ date_key('customers.created_at') }} as created_date_key,
        customers.created_at
    from aged as customers
    left join managers on customers.owner_manager_id = managers.manager_id
),

unknown as (
    select
        -1 as customer_key,
        cast(null as integer) as customer_id,
        'Unknown' as segment,
        'Unknown' as status,
        'Unknown' as region,
        'Unknown' as city,
        cast(null as {{ dbt.type_string() }}) as timezone,
        'Unknown' as gender,
        'Unknown' as age_band,
        'Unknown' as income_band,
        'Unknown' as education,
        -1 as owner_manager_key,
        -1 as created_date_key,
        cast(null as timestamp) as created_at
),

final as (
    select * from profiled
    union all
    select * from unknown
)

select * from final
