with

source as (
    select * from {{ source('calls', 'cdr_calls') }}
),

renamed as (
    select
        uniqueid as call_id,
        case when dcontext = 'from-trunk' then 'inbound' else 'outbound' end as direction,
        src as source_number,
        dst as destination_number,
        -- the other party: the caller inbound, the number dialled outbound
        case when dcontext = 'from-trunk' then src else dst end as external_number,
        disposition,
        disposition = 'ANSWERED' as is_answered,
        cast(start as timestamp) as started_at,
        cast(answer as timestamp) as answered_at,
        cast("end" as timestamp) as ended_at,
        duration as duration_seconds,
        billsec as talk_seconds,
        -- the manager's extension: the answering leg inbound, the calling leg outbound
        case
            when dcontext = 'from-trunk'
                then nullif(split_part(split_part(dstchannel, '/', 2), '-', 1), '')
            else src
        end as manager_extension,
        _partition as partition_date,
        _source_file as source_file,
        _line_number as source_line,
        _loaded_at as loaded_at
    from source
)

select * from renamed
