-- Call load by weekday × local hour: calls, inbound and missed, the missed-call rate, waits
-- and talk time, and calls per day; is_peak_hour marks the busiest hour of each weekday.
with

calls as (
    select
        call_date_key,
        hour_key,
        direction,
        is_missed,
        wait_seconds,
        talk_seconds
    from {{ ref('fct_calls') }}
),

dates as (
    select
        date_key,
        day_of_week
    from {{ ref('dim_dates') }}
),

observed_days as (
    select
        dates.day_of_week,
        count(distinct calls.call_date_key) as days_observed
    from calls
    inner join dates on calls.call_date_key = dates.date_key
    group by dates.day_of_week
),

load as (
    select
        dates.day_of_week,
        calls.hour_key,
        count(*) as calls,
        sum(case when calls.direction = 'inbound' then 1 else 0 end) as inbound_calls,
        sum(case when calls.direction = 'outbound' then 1 else 0 end) as outbound_calls,
        sum(case when calls.is_missed then 1 else 0 end) as missed_calls,
        sum(case when calls.direction = 'inbound' then calls.wait_seconds else 0 end)
            as inbound_wait_seconds,
        sum(calls.talk_seconds) as talk_seconds
    from calls
    inner join dates on calls.call_date_key = dates.date_key
    group by dates.day_of_week, calls.hour_key
),

final as (
    select
        {{ surrogate_key(['load.day_of_week', 'load.hour_key']) }} as call_load_key,
        load.day_of_week,
        load.hour_key,
        load.calls,
        load.inbound_calls,
        load.outbound_calls,
        load.missed_calls,
        cast(load.missed_calls as {{ type_double() }}) / nullif(load.inbound_calls, 0) as missed_call_rate,
        cast(load.inbound_wait_seconds as {{ type_double() }}) / nullif(load.inbound_calls, 0) as avg_wait_seconds,
        load.talk_seconds,
        cast(load.calls as {{ type_double() }}) / observed_days.days_observed as calls_per_day,
        rank() over (partition by load.day_of_week order by load.calls desc) = 1 as is_peak_hour
    from load
    inner join observed_days on load.day_of_week = observed_days.day_of_week
)

select * from final
