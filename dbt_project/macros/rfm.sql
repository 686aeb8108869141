{#-
    RFM scores are quintiles by cumulative distribution (1 = worst, 5 = best): tied values
    get the same score. The segment names follow the common R × F grid.
-#}
{% macro rfm_score(column, direction='asc') -%}
    cast(ceil(5 * cume_dist() over (order by {{ column }} {{ direction }})) as integer)
{%- endmacro %}

{% macro rfm_segment(r, f) -%}
    case
        when {{ r }} >= 5 and {{ f }} >= 4 then 'Champions'
        when {{ r }} >= 3 and {{ f }} >= 4 then 'Loyal'
        when {{ r }} >= 4 and {{ f }} >= 2 then 'Potential loyalist'
        when {{ r }} = 5 then 'New'
        when {{ r }} = 4 then 'Promising'
        when {{ r }} = 3 and {{ f }} = 3 then 'Need attention'
        when {{ r }} = 3 then 'About to sleep'
        when {{ f }} = 5 then 'Cannot lose them'
        when {{ f }} >= 3 then 'At risk'
        else 'Hibernating'
    end
{%- endmacro %}
