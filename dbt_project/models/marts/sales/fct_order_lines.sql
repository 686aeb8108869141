{{
    config(
        materialized=incremental_materialization(),
        incremental_strategy='delete+insert',
        unique_key='order_id',
        on_schema_change='fail'
    )
}}
-- One row per order line: product, quantity, price, discount and revenue (line amount of
-- a paid order, 0 otherwise). Incremental by order: every order with a line or a status
-- landed since the last build is rebuilt whole.
with

-- a full build takes every order: nothing was loaded before 1900
last_build as (
    {% if is_incremental() -%}
        select max(loaded_at) as loaded_at from {{ this }}
    {%- else -%}
        select cast('1900-01-01' as timestamp) as loaded_at
    {%- endif %}
),

changed_orders as (
    select order_lines.order_id from {{ ref('stg_crm__order_lines') }} as order_lines
    where order_lines.loaded_at > (select last_build.loaded_at from last_build)
    union
    select orders.order_id from {{ ref('stg_crm__orders') }} as orders
    where orders.loaded_at > (select last_build.loaded_at from last_build)
),

lines as (
    select
        order_line_id,
        order_id,
        product_id,
        quantity,
        unit_price,
        discount,
        line_amount,
        loaded_at
    from {{ ref('stg_crm__order_lines') }}
    where order_id in (select changed_orders.order_id from changed_orders)
),

orders as (
    select
        order_id,
        order_status,
        loaded_at
    from {{ ref('stg_crm__orders') }}
),

order_facts as (
    select
        order_id,
        customer_key,
        manager_key,
        channel_key,
        campaign_key,
        order_date_key
    from {{ ref('fct_orders') }}
),

products as (
    select product_id from {{ ref('stg_crm__products') }}
),

final as (
    select
        lines.order_line_id,
        lines.order_id,
        coalesce(order_facts.customer_key, -1) as customer_key,
        coalesce(order_facts.manager_key, -1) as manager_key,
        coalesce(order_facts.channel_key, 'unknown') as channel_key,
        coalesce(order_facts.campaign_key, -1) as campaign_key,
        coalesce(products.product_id, -1) as product_key,
        coalesce(order_facts.order_date_key, -1) as order_date_key,
        orders.order_status,
        coalesce(orders.order_status = 'paid', false) as is_paid,
        lines.quantity,
        lines.unit_price,
        lines.discount,
        lines.line_amount,
        case when orders.order_status = 'paid' then lines.line_amount else 0 end as revenue,
        case
            when orders.loaded_at > lines.loaded_at then orders.loaded_at
            else lines.loaded_at
        end as loaded_at
    from lines
    left join orders on lines.order_id = orders.order_id
    left join order_facts on lines.order_id = order_facts.order_id
    left join products on lines.product_id = products.product_id
)

select * from final
