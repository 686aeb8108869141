with

days as (
    {{ dbt.date_spine(
        datepart="day",
        start_date="cast('" ~ var('date_spine_start') ~ "' as date)",
        end_date="cast('" ~ var('date_spine_end') ~ "' as date)"
    ) }}
),

parts as (
    select
        cast(date_day as date) as date_day,
        cast(extract(year from date_day) as integer) as year_number,
        cast(extract(quarter from date_day) as integer) as quarter_of_year,
        cast(extract(month from date_day) as integer) as month_of_year,
        cast(extract(day from date_day) as integer) as day_of_month,
        {{ iso_day_of_week('date_day') }} as day_of_week
    from days
),

labelled as (
    select
        {{ date_key('date_day') }} as date_key,
        date_day,
        year_number as year,
        {{ dbt.concat(["cast(year_number as " ~ dbt.type_string() ~ ")", "'-Q'",
                       "cast(quarter_of_year as " ~ dbt.type_string() ~ ")"]) }} as quarter,
        quarter_of_year,
        {{ dbt.concat(["cast(year_number as " ~ dbt.type_string() ~ ")", "'-'",
                       "lpad(cast(month_of_year as " ~ dbt.type_string() ~ "), 2, '0')"]) }}
            as month,
        month_of_year,
        day_of_month,
        day_of_week,
        day_of_week in (6, 7) as is_weekend
    from parts
),

unknown as (
    select
        -1 as date_key,
        cast(null as date) as date_day,
        cast(null as integer) as year,
        'Unknown' as quarter,
        cast(null as integer) as quarter_of_year,
        'Unknown' as month,
        cast(null as integer) as month_of_year,
        cast(null as integer) as day_of_month,
        cast(null as integer) as day_of_week,
        cast(null as boolean) as is_weekend
),

final as (
    select * from labelled
    union all
    select * from unknown
)

select * from final
