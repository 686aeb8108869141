-- One row per CDR line, that is per call leg: a queue call that rings three managers is
-- three lines sharing uniqueid and linkedid, told apart by sequence.
with

source as (
    select * from {{ raw_source('calls', 'cdr_calls') }}
),

renamed as (
    select
        {{ surrogate_key(['_stream', '_line_number']) }} as cdr_line_id,
        -- a leg: uniqueid + sequence, or uniqueid + dstchannel + start without sequence
        case
            when sequence is not null
                then {{ surrogate_key(['uniqueid', 'sequence']) }}
            else {{ surrogate_key(['uniqueid', 'dstchannel', 'start']) }}
        end as leg_key,
        -- a call: its linkedid, or its uniqueid where the layout has no linkedid
        coalesce(nullif(linkedid, ''), nullif(uniqueid, ''), {{ surrogate_key(['_stream', '_line_number']) }})
            as call_id,
        nullif(uniqueid, '') as uniqueid,
        sequence as leg_sequence,
        src as source_number,
        dst as destination_number,
        {{ is_extension('src') }} as is_from_extension,
        {{ is_extension('dst') }} as is_to_extension,
        {{ channel_extension('channel') }} as source_extension,
        {{ channel_extension('dstchannel') }} as destination_extension,
        nullif(dstchannel, '') as destination_channel,
        lastapp as last_application,
        disposition,
        -- answered by a person: the PBX answering a queue or IVR itself has no dstchannel
        disposition = 'ANSWERED' and coalesce(dstchannel, '') != '' as is_answered,
        cast(start as timestamp) as started_at,
        -- an export with calldate, duration and billsec only: end and answer follow from them
        coalesce(
            cast("end" as timestamp),
            {{ dbt.dateadd('second', 'duration', 'cast(start as timestamp)') }}
        ) as ended_at,
        coalesce(
            cast(answer as timestamp),
            case
                when billsec > 0
                    then {{ dbt.dateadd('second', 'duration - billsec', 'cast(start as timestamp)') }}
            end
        ) as answered_at,
        duration as duration_seconds,
        billsec as talk_seconds,
        _partition as partition_date,
        _source_file as source_file,
        _line_number as source_line,
        _loaded_at as loaded_at
    from source
)

select * from renamed
