{#- A surrogate key from several columns: the hash of their text joined by '|'. -#}
{% macro surrogate_key(columns) -%}
    {%- set parts = [] -%}
    {%- for column in columns -%}
        {%- do parts.append("coalesce(cast(" ~ column ~ " as " ~ dbt.type_string() ~ "), '')") -%}
        {%- if not loop.last %}{% do parts.append("'|'") %}{% endif -%}
    {%- endfor -%}
    {{ dbt.hash(dbt.concat(parts)) }}
{%- endmacro %}

{#- The integer key of a day (yyyymmdd); -1, the unknown date, when it is null. -#}
{% macro date_key(column) -%}
    coalesce(cast(
        extract(year from {{ column }}) * 10000
        + extract(month from {{ column }}) * 100
        + extract(day from {{ column }}) as integer
    ), -1)
{%- endmacro %}

{#- The key of a channel > source > campaign member of dim_channels. -#}
{% macro channel_key(channel, source, campaign_name) -%}
    {{ surrogate_key([channel, source, campaign_name]) }}
{%- endmacro %}
