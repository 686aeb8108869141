{#-
    Incremental facts reprocess whole days: from the first day that has rows landed since the
    model was last built (a late file for an old day included), minus `lookback_days` for
    measures that look across days, up to today. With `incremental_strategy='delete+insert'`
    and `unique_key` the day column, those days are replaced as a whole, so a rebuild gives
    the same rows as a full refresh. Null (nothing to do) when no row is new.
-#}
{% macro first_day_to_reprocess(relation, day_column, lookback_days=0) -%}
    (
        select {{ dbt.dateadd('day', -1 * lookback_days, 'min(' ~ day_column ~ ')') }}
        from {{ relation }}
        where loaded_at > (select max(loaded_at) from {{ this }})
    )
{%- endmacro %}
