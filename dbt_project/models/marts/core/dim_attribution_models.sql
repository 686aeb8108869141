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
        'last_touch',
        'Last non-direct touch',
        2,
        'All credit to the latest touch that was not direct'
    union all
    select
        'linear',
        'Linear',
        3,
        'Equal credit to every touch up to the order'
)

select * from models
