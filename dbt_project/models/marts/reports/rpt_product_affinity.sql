-- What sells together: one row per pair of products bought in the same order (any status:
-- a basket shows intent even when the payment fails), with support, confidence both ways
-- and lift = P(a and b) / (P(a) · P(b)). Lift far above 1 marks a pair to bundle.
with

baskets as (
    select distinct
        order_id,
        product_key
    from {{ ref('fct_order_lines') }}
    where product_key != -1
),

order_count as (
    select count(distinct order_id) as orders from baskets
),

product_orders as (
    select
        product_key,
        count(*) as orders
    from baskets
    group by product_key
),

pairs as (
    select
        first_item.product_key as product_a_key,
        second_item.product_key as product_b_key,
        count(*) as orders_with_both
    from baskets as first_item
    inner join baskets as second_item
        on
            first_item.order_id = second_item.order_id
            and first_item.product_key < second_item.product_key
    group by first_item.product_key, second_item.product_key
),

final as (
    select
        {{ surrogate_key(['pairs.product_a_key', 'pairs.product_b_key']) }} as product_pair_key,
        pairs.product_a_key,
        pairs.product_b_key,
        pairs.orders_with_both,
        a_orders.orders as product_a_orders,
        b_orders.orders as product_b_orders,
        cast(pairs.orders_with_both as {{ type_double() }}) / order_count.orders as support,
        cast(pairs.orders_with_both as {{ type_double() }}) / a_orders.orders as confidence_a_to_b,
        cast(pairs.orders_with_both as {{ type_double() }}) / b_orders.orders as confidence_b_to_a,
        cast(pairs.orders_with_both as {{ type_double() }}) * order_count.orders
        / (a_orders.orders * b_orders.orders) as lift
    from pairs
    cross join order_count
    inner join product_orders as a_orders on pairs.product_a_key = a_orders.product_key
    inner join product_orders as b_orders on pairs.product_b_key = b_orders.product_key
)

select * from final
