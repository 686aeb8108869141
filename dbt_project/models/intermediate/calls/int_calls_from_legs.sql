-- One row per call (linkedid) from its legs: direction from the first leg, answered if any
-- leg was answered by a person, and the manager it belongs to: who answered, who was rung
-- last when nobody did, who dialled an outbound call.
with

legs as (
    select
        call_id,
        leg_key,
        leg_sequence,
        source_number,
        destination_number,
        is_from_extension,
        is_to_extension,
        source_extension,
        destination_extension,
        is_answered,
        disposition,
        started_at,
        answered_at,
        ended_at,
        talk_seconds,
        partition_date,
        loaded_at
    from {{ ref('stg_calls__cdr') }}
),

ordered as (
    select
        *,
        row_number() over (
            partition by call_id order by started_at, leg_sequence, leg_key
        ) as leg_order,
        row_number() over (
            partition by call_id, is_answered order by started_at, leg_sequence, leg_key
        ) as answered_order,
        row_number() over (
            partition by call_id, destination_extension is not null
            order by started_at desc, leg_sequence desc, leg_key desc
        ) as rung_order_from_last
    from legs
),

calls as (
    select
        call_id,
        min(started_at) as started_at,
        max(ended_at) as ended_at,
        max(case when is_answered then 1 else 0 end) = 1 as is_answered,
        min(case when is_answered then answered_at end) as answered_at,
        cast(sum(case when is_answered then talk_seconds else 0 end) as {{ dbt.type_bigint() }})
            as talk_seconds,
        count(*) as legs,
        min(partition_date) as partition_date,
        max(loaded_at) as loaded_at
    from legs
    group by call_id
),

first_legs as (
    select
        call_id,
        case
            when not is_from_extension then 'inbound'
            when not is_to_extension then 'outbound'
            else 'internal'
        end as direction,
        case when is_from_extension then destination_number else source_number end
            as external_number,
        source_extension,
        disposition
    from ordered
    where leg_order = 1
),

answering_legs as (
    select
        call_id,
        destination_extension
    from ordered
    where is_answered and answered_order = 1
),

last_rung_legs as (
    select
        call_id,
        destination_extension
    from ordered
    where destination_extension is not null and rung_order_from_last = 1
),

final as (
    select
        calls.call_id,
        first_legs.direction,
        first_legs.external_number,
        case
            when first_legs.direction = 'outbound' then first_legs.source_extension
            when calls.is_answered then answering_legs.destination_extension
            else last_rung_legs.destination_extension
        end as manager_extension,
        case
            when calls.is_answered then 'ANSWERED' else first_legs.disposition
        end as disposition,
        calls.is_answered,
        calls.started_at,
        calls.answered_at,
        calls.ended_at,
        calls.talk_seconds,
        calls.legs,
        calls.partition_date,
        calls.loaded_at
    from calls
    inner join first_legs on calls.call_id = first_legs.call_id
    left join answering_legs on calls.call_id = answering_legs.call_id
    left join last_rung_legs on calls.call_id = last_rung_legs.call_id
)

select * from final
