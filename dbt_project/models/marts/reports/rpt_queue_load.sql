-- One row per queue × hour of the day: calls that entered it, answered, abandoned by the
-- caller and timed out, the abandonment rate and the average wait (all calls and answered
-- ones): where callers give up waiting.
with

queue_calls as (
    select
        queue_name,
        hour_key,
        outcome,
        wait_seconds
    from {{ ref('fct_queue_calls') }}
),

load as (
    select
        queue_name,
        hour_key,
        count(*) as calls,
        sum(case when outcome = 'answered' then 1 else 0 end) as answered_calls,
        sum(case when outcome = 'abandoned' then 1 else 0 end) as abandoned_calls,
        sum(case when outcome = 'timeout' then 1 else 0 end) as timed_out_calls,
        sum(coalesce(wait_seconds, 0)) as wait_seconds,
        sum(case when outcome = 'answered' then coalesce(wait_seconds, 0) else 0 end)
            as answered_wait_seconds
    from queue_calls
    group by queue_name, hour_key
),

final as (
    select
        {{ surrogate_key(['queue_name', 'hour_key']) }} as queue_load_key,
        queue_name,
        hour_key,
        calls,
        answered_calls,
        abandoned_calls,
        timed_out_calls,
        cast(abandoned_calls + timed_out_calls as {{ type_double() }}) / nullif(calls, 0) as abandonment_rate,
        cast(wait_seconds as {{ type_double() }}) / nullif(calls, 0) as avg_wait_seconds,
        cast(answered_wait_seconds as {{ type_double() }}) / nullif(answered_calls, 0) as avg_answered_wait_seconds
    from load
)

select * from final
