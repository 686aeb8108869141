-- One row per platform, campaign (or ad) and day, in the reporting currency. A day that
-- two reports cover (a re-downloaded period; platforms revise recent days) keeps the
-- numbers of the report landed last.
with

source as (
    select * from {{ raw_source('ads', 'ad_spend') }}
),

ranked as (
    select
        *,
        row_number() over (
            partition by platform, campaign_id, coalesce(ad_id, ''), date
            order by _loaded_at desc, _source_file desc, _line_number desc
        ) as report_recency
    from source
),

renamed as (
    select
        cast(date as date) as spend_date,
        platform,
        account_id,
        campaign_id as platform_campaign_id,
        campaign_name,
        utm_campaign,
        ad_id,
        impressions,
        clicks,
        cast(spend as {{ dbt.type_numeric() }}) as spend,
        currency,
        spend_original,
        currency_original,
        _source_file as source_file
    from ranked
    where report_recency = 1
)

select * from renamed
