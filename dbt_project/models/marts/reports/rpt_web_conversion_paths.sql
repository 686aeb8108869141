-- Time to conversion by the channel of a visitor's first session: visitors, how many left
-- a lead and bought, the median days from first visit to first lead and to first purchase,
-- and the sessions it took.
with

sessions as (
    select
        user_pseudo_id,
        channel_key,
        started_at,
        has_lead,
        has_purchase
    from {{ ref('fct_web_sessions') }}
),

ordered as (
    select
        sessions.*,
        row_number() over (
            partition by sessions.user_pseudo_id order by sessions.started_at, sessions.channel_key
        ) as session_order
    from sessions
),

visitors as (
    select
        user_pseudo_id,
        max(case when session_order = 1 then channel_key end) as first_channel_key,
        min(started_at) as first_visit_at,
        min(case when has_lead then started_at end) as first_lead_at,
        min(case when has_purchase then started_at end) as first_purchase_at,
        min(case when has_purchase then session_order end) as sessions_to_purchase
    from ordered
    group by user_pseudo_id
),

timed as (
    select
        first_channel_key,
        user_pseudo_id,
        first_lead_at,
        first_purchase_at,
        sessions_to_purchase,
        {{ dbt.datediff('first_visit_at', 'first_lead_at', 'second') }} / cast(86400 as {{ type_double() }})
            as days_to_lead,
        {{ dbt.datediff('first_visit_at', 'first_purchase_at', 'second') }} / cast(86400 as {{ type_double() }})
            as days_to_purchase
    from visitors
),

channels as (
    select
        channel_key,
        channel
    from {{ ref('dim_channels') }}
),

by_channel as (
    select
        first_channel_key,
        count(*) as visitors,
        count(first_lead_at) as visitors_with_lead,
        count(first_purchase_at) as visitors_with_purchase,
        {{ median('days_to_lead') }} as median_days_to_lead,
        {{ median('days_to_purchase') }} as median_days_to_purchase,
        avg(sessions_to_purchase) as avg_sessions_to_purchase
    from timed
    group by first_channel_key
),

final as (
    select
        by_channel.first_channel_key as channel_key,
        channels.channel,
        by_channel.visitors,
        by_channel.visitors_with_lead,
        by_channel.visitors_with_purchase,
        cast(by_channel.visitors_with_lead as {{ type_double() }}) / by_channel.visitors as lead_conversion,
        cast(by_channel.visitors_with_purchase as {{ type_double() }}) / by_channel.visitors as purchase_conversion,
        by_channel.median_days_to_lead,
        by_channel.median_days_to_purchase,
        by_channel.avg_sessions_to_purchase
    from by_channel
    inner join channels on by_channel.first_channel_key = channels.channel_key
)

select * from final
