with

source as (
    select * from {{ source('crm', 'crm_teams') }}
),

renamed as (
    select
        team_id,
        name as team_name
    from source
)

select * from renamed
