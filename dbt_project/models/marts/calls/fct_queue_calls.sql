-- One row per call that entered a queue (callid × queue): when, how it ended (answered,
-- abandoned by the caller, timed out), how long the caller waited and, when answered, who
-- took it and how long they talked. From Asterisk's queue_log.
with

events as (
    select
        call_id,
        queue_name,
        event_at,
        agent,
        agent_extension,
        event,
        data1,
        data2,
        data3
    from {{ ref('stg_calls__queue_log') }}
    where call_id is not null
),

managers as (
    select
        manager_id,
        extension
    from {{ ref('stg_crm__managers') }}
),

calls as (
    select
        call_id,
        queue_name,
        min(case when event = 'ENTERQUEUE' then event_at end) as entered_at,
        max(case when event = 'CONNECT' then 1 else 0 end) = 1 as is_answered,
        max(case when event = 'ABANDON' then 1 else 0 end) = 1 as is_abandoned,
        max(case when event like 'EXIT%' then 1 else 0 end) = 1 as is_exited,
        -- CONNECT: data1 is the hold time; ABANDON and EXIT*: data3 is the wait
        max(case when event = 'CONNECT' then try_cast(data1 as integer) end) as answered_wait,
        max(case when event = 'ABANDON' or event like 'EXIT%' then try_cast(data3 as integer) end)
            as unanswered_wait,
        max(case when event like 'COMPLETE%' then try_cast(data2 as integer) end) as talk_seconds,
        max(case when event = 'CONNECT' then agent_extension end) as agent_extension,
        max(case when event = 'CONNECT' then agent end) as agent
    from events
    group by call_id, queue_name
),

final as (
    select
        {{ surrogate_key(['calls.call_id', 'calls.queue_name']) }} as queue_call_key,
        calls.call_id,
        calls.queue_name,
        {{ date_key('calls.entered_at') }} as call_date_key,
        coalesce(cast(extract(hour from calls.entered_at) as integer), -1) as hour_key,
        coalesce(managers.manager_id, -1) as manager_key,
        calls.agent,
        case
            when calls.is_answered then 'answered'
            when calls.is_abandoned then 'abandoned'
            when calls.is_exited then 'timeout'
            else 'unknown'
        end as outcome,
        calls.entered_at,
        coalesce(calls.answered_wait, calls.unanswered_wait) as wait_seconds,
        calls.talk_seconds
    from calls
    left join managers on calls.agent_extension = managers.extension
)

select * from final
