-- The customer attributes whose history dim_customer_history keeps (via snap_customers).
with

customers as (
    select
        customer_id,
        segment,
        status,
        owner_manager_id,
        created_at,
        updated_at
    from {{ ref('stg_crm__customers') }}
)

select * from customers
