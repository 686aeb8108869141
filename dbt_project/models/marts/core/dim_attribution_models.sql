-- The attribution models under which fct_attributed_revenue credits revenue to channels.
with

models as (
    select
        'first_touch' as attribution_model,
        'First touch' as model_name,
        1 as model_order,
        'All credit to the customer''s earliest recorded touch' as model_description
    union all
    select
        'last_touch' as attribution_model,
        'Last non-direct touch' as model_name,
        2 as model_order,
        'All credit to the latest touch that was not direct' as model_description
    union all
    select
        'linear' as attribution_model,
        'Linear' as model_name,
        3 as model_order,
        'Equal credit to every touch up to the order' as model_description
)

select * from models
