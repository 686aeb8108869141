{{
    config(
        materialized=incremental_materialization(),
        incremental_strategy='delete+insert',
        unique_key='partition_date',
        on_schema_change='fail'
    )
}}
-- depends_on: {{ ref('stg_calls__cdr') }}
-- One row per call (a linkedid, one or more CDR legs): direction, answered or missed, wait
-- and talk time, how long a missed inbound call waited for a call-back, and who was on the
-- line: the customer (by E.164 phone), the manager (who answered; for a missed call, who was
-- rung last; who dialled out) and the customer's deal open at the time. Times are local to
-- the call center.
with

calls as (
    select
        call_id,
        direction,
        external_number,
        disposition,
        is_answered,
        started_at,
        answered_at,
        ended_at,
        {{ dbt.datediff('started_at', 'ended_at', 'second') }} as duration_seconds,
        talk_seconds,
        legs,
        manager_extension,
        partition_date,
        loaded_at
    from {{ ref('int_calls_from_legs') }}
    {% if is_incremental() -%}
        where partition_date >= {{ first_day_to_reprocess(
            ref('stg_calls__cdr'), 'partition_date', var('callback_horizon_days')) }}
    {%- endif %}
),

numbers as (
    select
        phone_number,
        customer_id
    from {{ ref('stg_identity__call_numbers') }}
),

managers as (
    select
        manager_id,
        extension
    from {{ ref('stg_crm__managers') }}
),

deals as (
    select
        deal_id,
        customer_id,
        created_at,
        closed_at
    from {{ ref('stg_crm__deals') }}
),

missed as (
    select
        call_id,
        external_number,
        started_at
    from calls
    where direction = 'inbound' and not is_answered
),

callbacks as (
    select
        missed.call_id,
        min(later.started_at) as called_back_at
    from missed
    inner join calls as later
        on
            missed.external_number = later.external_number
            and missed.started_at < later.started_at
            and later.started_at
            <= {{ dbt.dateadd('day', var('callback_horizon_days'), 'missed.started_at') }}
            and later.direction = 'outbound'
    group by missed.call_id
),

-- every deal of the caller, flagged when open at the call; the flag is ranked rather than
-- filtered on, so the engine joins on the customer alone (with the time range as a join
-- condition it picks a range join over all deals, 10x slower on one day of calls)
call_deals as (
    select
        calls.call_id,
        deals.deal_id,
        deals.created_at,
        case
            when
                deals.created_at <= calls.started_at
                and (deals.closed_at is null or deals.closed_at >= calls.started_at)
                then 1
            else 0
        end as is_open_at_call
    from calls
    inner join numbers on calls.external_number = numbers.phone_number
    inner join deals on numbers.customer_id = deals.customer_id
),

open_deals as (
    select
        call_id,
        deal_id
    from (
        select
            call_id,
            deal_id,
            is_open_at_call,
            row_number() over (
                partition by call_id
                order by is_open_at_call desc, created_at desc, deal_id desc
            ) as recency
        from call_deals
    ) as candidates
    where recency = 1 and is_open_at_call = 1
),

final as (
    select
        calls.call_id,
        {{ date_key('calls.started_at') }} as call_date_key,
        coalesce(cast(extract(hour from calls.started_at) as integer), -1) as hour_key,
        coalesce(numbers.customer_id, -1) as customer_key,
        coalesce(managers.manager_id, -1) as manager_key,
        open_deals.deal_id as open_deal_id,
        calls.direction,
        calls.disposition,
        calls.is_answered,
        calls.direction = 'inbound' and not calls.is_answered as is_missed,
        calls.started_at,
        calls.answered_at,
        calls.ended_at,
        case
            when calls.is_answered
                then {{ dbt.datediff('calls.started_at', 'calls.answered_at', 'second') }}
            else calls.duration_seconds
        end as wait_seconds,
        calls.talk_seconds,
        calls.duration_seconds,
        calls.legs,
        callbacks.called_back_at,
        case
            when callbacks.called_back_at is not null
                then {{ dbt.datediff('calls.started_at', 'callbacks.called_back_at', 'second') }} / cast(60 as {{ type_double() }})
        end as callback_delay_minutes,
        calls.partition_date,
        calls.loaded_at
    from calls
    left join numbers on calls.external_number = numbers.phone_number
    left join managers on calls.manager_extension = managers.extension
    left join open_deals on calls.call_id = open_deals.call_id
    left join callbacks on calls.call_id = callbacks.call_id
)

select * from final
