with

source as (
    {{ latest_version(raw_source('crm', 'crm_managers'), 'manager_id') }}
),

renamed as (
    select
        manager_id,
        full_name as manager_name,
        extension,
        team_id,
        cast(updated_at as timestamp) as updated_at
    from source
)

select * from renamed
