{#-
    The few places where the SQL is not the same on every engine. Each macro dispatches, so
    an adapter (spark, trino) gets its own version beside the DuckDB one (see docs/DECISIONS.md).
-#}

{#- The path of a URL without scheme, host, query or fragment: https://x.ru/a/b?c -> /a/b -#}
{% macro url_path(column) -%}
    {{ return(adapter.dispatch('url_path', 'acrm')(column)) }}
{%- endmacro %}

{% macro default__url_path(column) -%}
    coalesce(nullif(regexp_extract({{ column }}, '^[a-z]+://[^/?#]+(/[^?#]*)', 1), ''), '/')
{%- endmacro %}

{#- ISO day of the week: 1 = Monday ... 7 = Sunday. -#}
{% macro iso_day_of_week(column) -%}
    {{ return(adapter.dispatch('iso_day_of_week', 'acrm')(column)) }}
{%- endmacro %}

{% macro default__iso_day_of_week(column) -%}
    cast(extract(isodow from {{ column }}) as integer)
{%- endmacro %}

{% macro spark__iso_day_of_week(column) -%}
    cast(extract(dayofweek_iso from {{ column }}) as integer)
{%- endmacro %}

{#- The median of a column, as an aggregate. -#}
{% macro median(column) -%}
    {{ return(adapter.dispatch('median', 'acrm')(column)) }}
{%- endmacro %}

{% macro default__median(column) -%}
    percentile_cont(0.5) within group (order by {{ column }})
{%- endmacro %}

{% macro spark__median(column) -%}
    percentile({{ column }}, 0.5)
{%- endmacro %}

{#- An 8-byte float (dbt.type_float() is 4 bytes on DuckDB). -#}
{% macro type_double() -%}
    {{ return(adapter.dispatch('type_double', 'acrm')()) }}
{%- endmacro %}

{% macro default__type_double() -%}
    double
{%- endmacro %}

{#- True when a phone field holds an internal extension (a short number), not an outside line. -#}
{% macro is_extension(column) -%}
    {{ return(adapter.dispatch('is_extension', 'acrm')(column)) }}
{%- endmacro %}

{% macro default__is_extension(column) -%}
    {{ full_match("coalesce(" ~ column ~ ", '')", "[0-9]{1," ~ var("extension_max_digits") ~ "}") }}
{%- endmacro %}

{#- True when the whole text matches the regular expression (not a part of it). -#}
{% macro full_match(column, pattern) -%}
    {{ return(adapter.dispatch('full_match', 'acrm')(column, pattern)) }}
{%- endmacro %}

{% macro default__full_match(column, pattern) -%}
    regexp_full_match({{ column }}, '{{ pattern }}')
{%- endmacro %}

{% macro spark__full_match(column, pattern) -%}
    ({{ column }} rlike '^(?:{{ pattern }})$')
{%- endmacro %}

{#- The extension a channel belongs to: SIP/101-0000002a, PJSIP/101-00000012 and
    Local/101@from-queue-00000a1b;1 all give 101; a trunk (SIP/trunk-...) gives its name. -#}
{% macro channel_extension(column) -%}
    {{ return(adapter.dispatch('channel_extension', 'acrm')(column)) }}
{%- endmacro %}

{% macro default__channel_extension(column) -%}
    nullif(regexp_extract(coalesce({{ column }}, ''), '^[^/]+/([^-@;/]+)', 1), '')
{%- endmacro %}
