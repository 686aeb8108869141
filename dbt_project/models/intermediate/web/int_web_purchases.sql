-- One row per GA4 purchase event, and whether it is the one that counts: GA4 repeats the
-- purchase event for one transaction (a reloaded thank-you page), so each transaction_id
-- counts once, its first event; an event without a usable id ('', '(not set)') counts alone.
with

purchases as (
    select
        event_id,
        event_at,
        transaction_id,
        coalesce(transaction_id, '') not in ('', '(not set)') as has_transaction_id
    from {{ ref('stg_web__events') }}
    where event_name = 'purchase'
),

ranked as (
    select
        event_id,
        transaction_id,
        has_transaction_id,
        row_number() over (
            partition by case when has_transaction_id then transaction_id else event_id end
            order by event_at, event_id
        ) as occurrence
    from purchases
),

final as (
    select
        event_id,
        transaction_id,
        has_transaction_id,
        occurrence = 1 as is_counted
    from ranked
)

select * from final
