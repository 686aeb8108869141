-- Monthly paid revenue per item, for products (order lines) and customers (orders): the
-- input of the ABC/XYZ classification.
with

lines as (
    select
        product_key as item_key,
        order_date_key,
        revenue
    from {{ ref('fct_order_lines') }}
    where is_paid
),

orders as (
    select
        customer_key as item_key,
        order_date_key,
        revenue
    from {{ ref('fct_orders') }}
    where is_paid
),

dates as (
    select
        date_key,
        cast({{ dbt.date_trunc('month', 'date_day') }} as date) as month_start
    from {{ ref('dim_dates') }}
    where date_key != -1
),

items as (
    select
        'product' as item_type,
        item_key,
        order_date_key,
        revenue
    from lines
    union all
    select
        'customer' as item_type,
        item_key,
        order_date_key,
        revenue
    from orders
),

final as (
    select
        items.item_type,
        items.item_key,
        dates.month_start,
        sum(items.revenue) as revenue
    from items
    inner join dates on items.order_date_key = dates.date_key
    where items.item_key != -1
    group by items.item_type, items.item_key, dates.month_start
)

select * from final
