-- One row per reason a deal was lost.
with

loss_reasons as (
    select
        loss_reason_id,
        loss_reason
    from {{ ref('stg_crm__loss_reasons') }}
),

members as (
    select
        loss_reason_id as loss_reason_key,
        loss_reason_id,
        loss_reason
    from loss_reasons
),

unknown as (
    select
        -1 as loss_reason_key,
        cast(null as integer) as loss_reason_id,
        '(none)' as loss_reason
),

final as (
    select * from members
    union all
    select * from unknown
)

select * from final
