with

source as (
    select * from {{ source('crm', 'crm_loss_reasons') }}
),

renamed as (
    select
        loss_reason_id,
        name as loss_reason
    from source
)

select * from renamed
