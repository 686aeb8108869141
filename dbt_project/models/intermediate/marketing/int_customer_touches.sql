-- Every marketing touch of a known customer, in time order: the first touch the CRM
-- recorded at sign-up, web sessions of the logged-in customer, and the utm of each deal
-- and order. The basis of lead and revenue attribution. touch_order breaks ties between
-- touches at the same instant: sign-up, then web session, then deal, then order.
with

channels as (
    select
        campaign_id,
        utm_source,
        utm_medium,
        utm_campaign,
        channel_group,
        channel_key,
        channel
    from {{ ref('int_utm_channels') }}
),

campaigns as (
    select
        campaign_id,
        utm_campaign
    from {{ ref('stg_crm__campaigns') }}
),

customers as (
    select
        customers.customer_id,
        customers.created_at,
        campaigns.campaign_id,
        customers.first_utm_source,
        customers.first_utm_medium
    from {{ ref('stg_crm__customers') }} as customers
    left join campaigns on customers.first_utm_campaign = campaigns.utm_campaign
),

web_users as (
    select
        web_user_id,
        customer_id
    from {{ ref('stg_identity__web_users') }}
),

sessions as (
    select
        web_users.customer_id,
        sessions.started_at,
        sessions.campaign_id,
        sessions.session_source,
        sessions.session_medium,
        sessions.session_campaign_name,
        sessions.session_channel_group
    from {{ ref('int_web_sessions') }} as sessions
    inner join web_users on sessions.web_user_id = web_users.web_user_id
),

deals as (
    select
        customer_id,
        created_at,
        campaign_id,
        utm_source,
        utm_medium
    from {{ ref('stg_crm__deals') }}
),

orders as (
    select
        customer_id,
        ordered_at,
        campaign_id,
        utm_source,
        utm_medium
    from {{ ref('stg_crm__orders') }}
),

touches as (
    select
        customer_id,
        created_at as touched_at,
        'crm_first_touch' as touch_type,
        campaign_id,
        first_utm_source as utm_source,
        first_utm_medium as utm_medium,
        cast(null as {{ dbt.type_string() }}) as utm_campaign,
        cast(null as {{ dbt.type_string() }}) as channel_group
    from customers
    union all
    select
        customer_id,
        started_at as touched_at,
        'web_session' as touch_type,
        campaign_id,
        session_source as utm_source,
        session_medium as utm_medium,
        session_campaign_name as utm_campaign,
        session_channel_group as channel_group
    from sessions
    union all
    select
        customer_id,
        created_at as touched_at,
        'deal' as touch_type,
        campaign_id,
        utm_source,
        utm_medium,
        cast(null as {{ dbt.type_string() }}) as utm_campaign,
        cast(null as {{ dbt.type_string() }}) as channel_group
    from deals
    union all
    select
        customer_id,
        ordered_at as touched_at,
        'order' as touch_type,
        campaign_id,
        utm_source,
        utm_medium,
        cast(null as {{ dbt.type_string() }}) as utm_campaign,
        cast(null as {{ dbt.type_string() }}) as channel_group
    from orders
),

final as (
    select
        touches.customer_id,
        touches.touched_at,
        touches.touch_type,
        case touches.touch_type
            when 'crm_first_touch' then 0
            when 'web_session' then 1
            when 'deal' then 2
            else 3
        end as touch_order,
        coalesce(channels.channel_key, 'unknown') as channel_key,
        coalesce(channels.channel, 'Unknown') as channel,
        coalesce(channels.channel, 'Unknown') in ('Direct', 'Unknown') as is_direct
    from touches
    left join channels on {{ utm_channel_match(
        'touches', campaign_name='utm_campaign', channel_group='channel_group',
        channels='channels') }}
    where touches.customer_id is not null and touches.touched_at is not null
)

select * from final
