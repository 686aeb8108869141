{#-
    Incremental facts reprocess whole days: from the first day that has rows landed since the
    model was last built (a late file for an old day included), minus `lookback_days` for
    measures that look across days, up to today. With `incremental_strategy='delete+insert'`
    and `unique_key` the day column, those days are replaced as a whole, so a rebuild gives
    the same rows as a full refresh.

    The day is looked up before the model runs and inlined as a literal, so the engine can
    prune the scan to those days (a scalar subquery in the filter defeats that and is
    evaluated once per use of the CTE). Null, which selects nothing, when no row is new.
-#}
{% macro first_day_to_reprocess(relation, day_column, lookback_days=0) -%}
    {%- if execute -%}
        {%- set query -%}
            select cast({{ dbt.dateadd('day', -1 * lookback_days, 'min(' ~ day_column ~ ')') }} as date)
            from {{ relation }}
            where loaded_at > (select max(loaded_at) from {{ this }})
        {%- endset -%}
        {%- set first_day = run_query(query).columns[0].values()[0] -%}
    {%- else -%}
        {%- set first_day = none -%}
    {%- endif -%}
    {%- if first_day is none -%}
        cast(null as date)
    {%- else -%}
        cast('{{ first_day }}' as date)
    {%- endif -%}
{%- endmacro %}

{#-
    How the incremental facts materialize: incrementally where the engine can replace a
    day's or an order's rows (DuckDB: delete+insert), whole tables on Spark, whose Parquet
    tables cannot delete rows (merge needs Delta Lake, whose jars Spark fetches from Maven
    at run time). Both give the same rows; docs/DECISIONS.md.
-#}
{% macro incremental_materialization() -%}
    {{ return(adapter.dispatch('incremental_materialization', 'acrm')()) }}
{%- endmacro %}

{% macro default__incremental_materialization() -%}
    {{ return('incremental') }}
{%- endmacro %}

{% macro spark__incremental_materialization() -%}
    {{ return('table') }}
{%- endmacro %}
