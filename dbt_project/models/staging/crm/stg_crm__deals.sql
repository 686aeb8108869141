with

source as (
    {{ latest_version(raw_source('crm', 'crm_deals'), 'deal_id') }}
),

renamed as (
    select
        deal_id,
        source_id as deal_source_id,
        customer_id,
        manager_id,
        pipeline_id,
        stage_id as current_stage_id,
        status as deal_status,
        cast(amount as {{ dbt.type_numeric() }}) as amount,
        campaign_id,
        utm_source,
        utm_medium,
        lead_source,
        loss_reason_id,
        product_id,
        cast(created_at as timestamp) as created_at,
        cast(closed_at as timestamp) as closed_at,
        cast(updated_at as timestamp) as updated_at
    from source
)

select * from renamed
