{#-
    The latest landed version of each row of an incrementally extracted CRM table, without
    the rows deleted in the source (tombstones). Portable: a window function, no QUALIFY.
-#}
{% macro latest_version(relation, key) -%}
    select * from (
        select
            *,
            row_number() over (
                partition by {{ key }} order by _loaded_at desc, updated_at desc
            ) as _version_rank
        from {{ relation }}
    ) as versions
    where _version_rank = 1 and not _deleted
{%- endmacro %}
