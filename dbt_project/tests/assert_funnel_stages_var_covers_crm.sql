-- fct_deals has a milestone column per stage in var('funnel_stages'): a CRM stage missing
-- from the list would have no column. Add it to dbt_project.yml when this fails.
select stage_name
from {{ ref('stg_crm__pipeline_stages') }}
where stage_name not in (
    {%- for stage in var('funnel_stages') %}'{{ stage }}'{% if not loop.last %}, {% endif %}{% endfor -%}
)
