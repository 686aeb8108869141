{#-
    dbt's datediff and dateadd on Spark, in Spark's own functions. dbt-spark's versions go
    through unix seconds and to_timestamp, and under Spark 4's ANSI mode with timestamps
    without a zone (as DuckDB's are) they gave nulls: a one-row date spine, no call
    durations, no campaign responses (docs/DECISIONS.md). dbt_project.yml's `dispatch`
    puts this project before dbt for these two; DuckDB keeps dbt's own.
-#}
{#- DuckDB counts the boundaries crossed (days, months), as dbt means it; Spark's
    timestampdiff counts whole units, so days and months are counted as boundaries here. -#}
{% macro spark__datediff(first_date, second_date, datepart) -%}
    {%- if datepart == 'day' -%}
        datediff(cast({{ second_date }} as date), cast({{ first_date }} as date))
    {%- elif datepart == 'month' -%}
        ((year({{ second_date }}) * 12 + month({{ second_date }}))
            - (year({{ first_date }}) * 12 + month({{ first_date }})))
    {%- elif datepart == 'year' -%}
        (year({{ second_date }}) - year({{ first_date }}))
    {%- else -%}
        timestampdiff({{ datepart | upper }}, {{ first_date }}, {{ second_date }})
    {%- endif -%}
{%- endmacro %}

{% macro spark__dateadd(datepart, interval, from_date_or_timestamp) -%}
    timestampadd({{ datepart | upper }}, {{ interval }}, {{ from_date_or_timestamp }})
{%- endmacro %}
