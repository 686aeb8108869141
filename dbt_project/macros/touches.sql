{#-
    The join condition from a touch (a deal, order, web session or sign-up) to the
    int_utm_channels row that resolves its tags: campaign, utm source and medium, and for
    web sessions the campaign name and GA4's own channel group (null for CRM touches).
-#}
{% macro utm_channel_match(touch, campaign='campaign_id', source='utm_source', medium='utm_medium', campaign_name=none, channel_group=none, channels='utm_channels') -%}
    {{ touch }}.{{ campaign }} is not distinct from {{ channels }}.campaign_id
    and {{ touch }}.{{ source }} is not distinct from {{ channels }}.utm_source
    and {{ touch }}.{{ medium }} is not distinct from {{ channels }}.utm_medium
    and {{ (touch ~ '.' ~ campaign_name) if campaign_name else 'null' }} is not distinct from {{ channels }}.utm_campaign
    and {{ (touch ~ '.' ~ channel_group) if channel_group else 'null' }} is not distinct from {{ channels }}.channel_group
{%- endmacro %}

{#-
    Ranks of a customer's touches before one event (a lead, an order), partitioned by the
    event: first_rank = 1 is the earliest touch; last_rank = 1 is the latest non-direct touch,
    or the latest touch when all were direct. Ties at the same instant follow touch_order.
-#}
{% macro touch_ranks(event) -%}
    row_number() over (
        partition by {{ event }} order by touches.touched_at, touches.touch_order
    ) as first_rank,
    row_number() over (
        partition by {{ event }}
        order by
            case when touches.is_direct then 0 else 1 end desc,
            touches.touched_at desc,
            touches.touch_order desc
    ) as last_rank
{%- endmacro %}
