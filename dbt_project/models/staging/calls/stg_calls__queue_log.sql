-- One row per queue_log line: a queue event of a call (or of the queue itself, callid NONE).
with

source as (
    select * from {{ raw_source('calls', 'queue_log') }}
),

renamed as (
    select
        {{ surrogate_key(['_stream', '_line_number']) }} as queue_event_id,
        event_at,
        nullif(callid, 'NONE') as call_id,
        queuename as queue_name,
        nullif(agent, 'NONE') as agent,
        {{ channel_extension('agent') }} as agent_extension,
        event,
        data1,
        data2,
        data3,
        data4,
        data5,
        _partition as partition_date,
        _loaded_at as loaded_at
    from source
)

select * from renamed
