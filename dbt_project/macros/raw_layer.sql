{#-
    Where staging reads a landed table: the warehouse's `raw` schema (the default), or the
    lake, the same rows as Hive-partitioned Parquet that the landing writes beside the
    warehouse (`ACRM_RAW_LAYER=lake`; `ACRM_LAKE` is its folder, pipelines/ingest/lake.py).
    Staging calls `raw_source('web', 'ga4_events')` where it would call `source(...)`: the
    lineage and the freshness stay dbt's source's, the rows come from the chosen layer.

    From the lake, a table reads the raw table's own columns, so the two layers give
    staging the same relation: the lake's `day` folder is `_partition` again, and what
    only the lake keeps (GA4's whole event, `_extra`) is left out. A table with no file in
    the lake (a source that has never had data) reads the warehouse's empty table.
-#}
{% macro raw_source(source_name, table_name) -%}
    {%- set relation = source(source_name, table_name) -%}
    {%- if execute and env_var('ACRM_RAW_LAYER', 'warehouse') == 'lake' -%}
        {{ lake_relation(relation) }}
    {%- else -%}
        {{ relation }}
    {%- endif -%}
{%- endmacro %}

{% macro lake_relation(relation) -%}
    {%- set folder = env_var('ACRM_LAKE') ~ '/raw/' ~ relation.identifier -%}
    {%- set by_day = folder ~ '/day=*/*.parquet' -%}
    {%- set whole = folder ~ '/data.parquet' -%}
    {%- set found = run_query(
        "select (select count(*) from glob('" ~ by_day ~ "')), "
        ~ "(select count(*) from glob('" ~ whole ~ "'))"
    ).rows[0] -%}
    {%- set selected = [] -%}
    {%- for column in adapter.get_columns_in_relation(relation) | map(attribute='name') -%}
        {%- if column == '_partition' and found[0] > 0 -%}
            {%- do selected.append('cast(day as date) as _partition') -%}
        {%- else -%}
            {%- do selected.append(adapter.quote(column)) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if found[0] > 0 -%}
        (select {{ selected | join(', ') }}
        from read_parquet('{{ by_day }}', hive_partitioning = true, union_by_name = true))
    {%- elif found[1] > 0 -%}
        (select {{ selected | join(', ') }} from read_parquet('{{ whole }}'))
    {%- else -%}
        {{ relation }}
    {%- endif -%}
{%- endmacro %}
