{#
    A bound of the 95 % interval of treated rate - holdout rate, from the responders (x)
    and members (n) of each group, by Agresti and Caffo (2000): one response and one
    non-response added to each group, p = (x + 1) / (n + 2); side -1 the low bound, +1 the
    high. The cube's UpliftBound measure (cubes/model.py) computes the same; an integration
    test holds them equal.
#}
{% macro uplift_bound(x1, n1, x0, n0, side) -%}
    {#- in double: a decimal literal (1.0) makes Spark divide in decimal, rounded -#}
    {%- set p1 = '((cast(' ~ x1 ~ ' as ' ~ type_double() ~ ') + 1) / (' ~ n1 ~ ' + 2))' -%}
    {%- set p0 = '((cast(' ~ x0 ~ ' as ' ~ type_double() ~ ') + 1) / (' ~ n0 ~ ' + 2))' -%}
    ({{ p1 }} - {{ p0 }} + {{ side }} * 1.959963984540054 * sqrt(
        {{ p1 }} * (1 - {{ p1 }}) / ({{ n1 }} + 2)
        + {{ p0 }} * (1 - {{ p0 }}) / ({{ n0 }} + 2)
    ))
{%- endmacro %}

{#- The 95 % interval bound of a difference of two means, m1 - m0, from each group's
    sample variance and size (normal approximation, Welch's standard error); side -1 for
    the low bound, 1 for the high. Null when a group has fewer than two members. -#}
{% macro mean_difference_bound(m1, v1, n1, m0, v0, n0, side) -%}
    ({{ m1 }} - {{ m0 }} + {{ side }} * 1.959963984540054 * sqrt(
        {{ v1 }} / nullif({{ n1 }}, 0) + {{ v0 }} / nullif({{ n0 }}, 0)
    ))
{%- endmacro %}

