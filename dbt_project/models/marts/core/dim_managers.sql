with

managers as (
    select
        manager_id,
        manager_name,
        extension,
        team_id
    from {{ ref('stg_crm__managers') }}
),

teams as (
    select
        team_id,
        team_name
    from {{ ref('stg_crm__teams') }}
),

managers_with_teams as (
    select
        managers.manager_id as manager_key,
        managers.manager_id,
        managers.manager_name,
        managers.extension,
        coalesce(teams.team_name, 'Unknown') as team_name
    from managers
    left join teams on managers.team_id = teams.team_id
),

unknown as (
    select
        -1 as manager_key,
        cast(null as integer) as manager_id,
        '(none)' as manager_name,
        cast(null as {{ dbt.type_string() }}) as extension,
        '(none)' as team_name
),

final as (
    select * from managers_with_teams
    union all
    select * from unknown
)

select * from final
