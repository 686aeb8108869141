-- Web pages by path (scheme, host and query stripped), grouped into site sections.
with

pages as (
    select
        page_path,
        max(page_title) as page_title
    from {{ ref('stg_web__events') }}
    where page_path is not null
    group by page_path
),

members as (
    select
        {{ surrogate_key(['page_path']) }} as content_key,
        page_path,
        coalesce(page_title, page_path) as page_title,
        case
            when page_path = '/' then 'home'
            else {{ dbt.split_part('page_path', "'/'", 2) }}
        end as section
    from pages
),

unknown as (
    select
        'unknown' as content_key,
        '(none)' as page_path,
        'Unknown' as page_title,
        'Unknown' as section
),

final as (
    select * from members
    union all
    select * from unknown
)

select * from final
