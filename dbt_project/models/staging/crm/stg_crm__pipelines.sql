with

source as (
    {{ latest_version(raw_source('crm', 'crm_pipelines'), 'pipeline_id') }}
),

renamed as (
    select
        pipeline_id,
        name as pipeline_name
    from source
)

select * from renamed
