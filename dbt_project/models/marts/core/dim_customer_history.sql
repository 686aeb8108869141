-- SCD type 2: one row per customer and period in which segment, status and owning manager
-- stayed the same. Join a fact on customer_key and valid_from <= event < valid_to for the
-- attributes as they were at the event; dim_customers has the current ones.
with

snapshots as (
    select
        customer_id,
        segment,
        status,
        owner_manager_id,
        created_at,
        dbt_valid_from,
        dbt_valid_to
    from {{ ref('snap_customers') }}
),

-- a customer deleted in the CRM has no open version left (hard_deletes: invalidate)
endings as (
    select
        customer_id,
        max(case when dbt_valid_to is null then 1 else 0 end) = 0 as is_deleted,
        max(dbt_valid_to) as deleted_at
    from snapshots
    group by customer_id
),

managers as (
    select manager_id from {{ ref('stg_crm__managers') }}
),

compared as (
    select
        customer_id,
        segment,
        status,
        owner_manager_id,
        created_at,
        dbt_valid_from,
        lag({{ surrogate_key(['segment', 'status', 'owner_manager_id']) }}) over (
            partition by customer_id order by dbt_valid_from
        ) as previous_state,
        {{ surrogate_key(['segment', 'status', 'owner_manager_id']) }} as state
    from snapshots
),

changes as (
    select
        customer_id,
        segment,
        status,
        owner_manager_id,
        created_at,
        dbt_valid_from
    from compared
    where previous_state is null or previous_state != state
),

periods as (
    select
        changes.*,
        row_number() over (partition by changes.customer_id order by changes.dbt_valid_from) as version_number,
        lead(changes.dbt_valid_from) over (
            partition by changes.customer_id order by changes.dbt_valid_from
        ) as next_valid_from
    from changes
),

final as (
    select
        {{ surrogate_key(['periods.customer_id', 'periods.version_number']) }}
            as customer_version_key,
        periods.customer_id as customer_key,
        periods.version_number,
        periods.segment,
        periods.status,
        coalesce(managers.manager_id, -1) as owner_manager_key,
        case
            when periods.version_number = 1 and periods.created_at < periods.dbt_valid_from
                then periods.created_at
            else periods.dbt_valid_from
        end as valid_from,
        coalesce(
            periods.next_valid_from,
            case when endings.is_deleted then endings.deleted_at end,
            cast('9999-12-31' as timestamp)
        ) as valid_to,
        periods.next_valid_from is null and not endings.is_deleted as is_current
    from periods
    inner join endings on periods.customer_id = endings.customer_id
    left join managers on periods.owner_manager_id = managers.manager_id
)

select * from final
