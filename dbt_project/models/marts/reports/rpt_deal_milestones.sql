-- One row per deal and one column per stage of the CRM's own funnel, `<stage>_entered_at`:
-- when the deal first entered the stage (null: not reached, or passed without a history
-- row). The columns follow the stages landed from the CRM, read when the model is built,
-- so each CRM gets its own; fct_deals keeps the columns every CRM has.
-- depends_on: {{ ref('stg_crm__pipeline_stages') }}
{#- outside run and build (parse, compile, SQLFluff) two stand-in stages show the shape -#}
{%- set stages = ['Lead', 'Won'] -%}
{%- if execute and flags.WHICH in ('run', 'build') -%}
    {%- set landed = run_query(
        "select stage_name from " ~ ref('stg_crm__pipeline_stages')
        ~ " where not is_lost_stage group by stage_name"
        ~ " order by min(stage_position), stage_name"
    ) -%}
    {%- set stages = landed.columns[0].values() -%}
{%- endif -%}
{%- set columns = {} -%}
{%- for stage in stages -%}
    {%- set slug = modules.re.sub('\\W+', '_', stage | lower).strip('_') or 'stage' -%}
    {%- if slug not in columns.values() -%}{%- do columns.update({stage: slug}) -%}{%- endif -%}
{%- endfor %}

with

reach as (
    select
        deal_id,
        stage_name,
        entered_at
    from {{ ref('int_deal_stage_reach') }}
),

final as (
    select
        {%- for stage, slug in columns.items() %}
            min(case when stage_name = '{{ stage | replace("'", "''") }}' then entered_at end)
                as {{ adapter.quote(slug ~ '_entered_at') }},
        {%- endfor %}
        deal_id
    from reach
    group by deal_id
)

select * from final
