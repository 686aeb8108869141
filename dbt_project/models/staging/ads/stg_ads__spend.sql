with

source as (
    select * from {{ source('ads', 'ad_spend') }}
),

renamed as (
    select
        cast(date as date) as spend_date,
        platform,
        account_id,
        campaign_id,
        campaign_name,
        utm_campaign,
        impressions,
        clicks,
        cast(spend as {{ dbt.type_numeric() }}) as spend,
        currency,
        _source_file as source_file
    from source
)

select * from renamed
