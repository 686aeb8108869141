-- One row per call leg (a CDR line): which manager's extension it rang or dialled from,
-- whether that manager answered, how long it rang, and the call it belongs to. A missed
-- ring is a leg of an inbound call that rang a manager who did not answer.
with

legs as (
    select
        cdr_line_id,
        leg_key,
        call_id,
        leg_sequence,
        source_extension,
        destination_extension,
        disposition,
        is_answered,
        started_at,
        answered_at,
        ended_at,
        duration_seconds,
        talk_seconds,
        partition_date
    from {{ ref('stg_calls__cdr') }}
),

calls as (
    select
        call_id,
        direction
    from {{ ref('int_calls_from_legs') }}
),

managers as (
    select
        manager_id,
        extension
    from {{ ref('stg_crm__managers') }}
),

legs_with_direction as (
    select
        legs.*,
        calls.direction,
        case
            when calls.direction = 'outbound' then legs.source_extension
            else legs.destination_extension
        end as manager_extension
    from legs
    inner join calls on legs.call_id = calls.call_id
),

final as (
    select
        legs.cdr_line_id as leg_id,
        legs.leg_key as leg_identifier,
        legs.call_id,
        legs.leg_sequence,
        {{ date_key('legs.started_at') }} as call_date_key,
        coalesce(cast(extract(hour from legs.started_at) as integer), -1) as hour_key,
        coalesce(managers.manager_id, -1) as manager_key,
        legs.direction,
        legs.disposition,
        legs.is_answered,
        legs.direction = 'inbound' and managers.manager_id is not null and not legs.is_answered
            as is_missed_ring,
        case
            when legs.answered_at is not null
                then {{ dbt.datediff('legs.started_at', 'legs.answered_at', 'second') }}
            else legs.duration_seconds
        end as ring_seconds,
        legs.talk_seconds,
        legs.started_at,
        legs.ended_at,
        legs.partition_date
    from legs_with_direction as legs
    left join managers on legs.manager_extension = managers.extension
)

select * from final
