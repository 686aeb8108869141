with

source as (
    {{ latest_version(raw_source('crm', 'crm_teams'), 'team_id') }}
),

renamed as (
    select
        team_id,
        name as team_name
    from source
)

select * from renamed
