-- The customer behind each web user_id (the site's login id); one customer per id.
with

source as (
    select
        identifier,
        customer_id
    from {{ source('identity', 'customer_identifiers') }}
    where identifier_type = 'web_user_id'
),

resolved as (
    select
        identifier as web_user_id,
        min(customer_id) as customer_id
    from source
    group by identifier
)

select * from resolved
