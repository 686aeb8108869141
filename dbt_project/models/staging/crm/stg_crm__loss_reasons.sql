with

source as (
    {{ latest_version(raw_source('crm', 'crm_loss_reasons'), 'loss_reason_id') }}
),

renamed as (
    select
        loss_reason_id,
        name as loss_reason
    from source
)

select * from renamed
