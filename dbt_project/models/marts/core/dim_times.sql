-- Hours of the day. Call times are local to the call center; web times are UTC.
with

hours as (
    {{ dbt.generate_series(24) }}
),

members as (
    select
        cast(generated_number - 1 as integer) as hour_key,
        cast(generated_number - 1 as integer) as hour_of_day,
        {{ dbt.concat(["lpad(cast(generated_number - 1 as " ~ dbt.type_string() ~ "), 2, '0')",
                       "':00'"]) }} as hour_label,
        case
            when generated_number - 1 < 6 then 'Night'
            when generated_number - 1 < 12 then 'Morning'
            when generated_number - 1 < 18 then 'Afternoon'
            else 'Evening'
        end as day_part,
        generated_number - 1 between 9 and 17 as is_business_hours
    from hours
),

unknown as (
    select
        -1 as hour_key,
        cast(null as integer) as hour_of_day,
        'Unknown' as hour_label,
        'Unknown' as day_part,
        false as is_business_hours
),

final as (
    select * from members
    union all
    select * from unknown
)

select * from final
