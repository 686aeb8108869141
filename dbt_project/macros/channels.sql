{#-
    GA4's default channel group for manual traffic, rule by rule in Google's order (the
    first rule that holds names the channel), from a touch's source, medium and campaign
    name (lower case) and the source's category in the seed ga4_source_categories. A touch
    with none of the three is Unknown (no touch recorded), not Unassigned.
-#}
{% macro ga4_default_channel_group(source, medium, campaign, category) -%}
    {%- set paid = full_match(medium, ".*cp.*|ppc|retargeting|paid.*") -%}
    {%- set shop_campaign = full_match(campaign, ".*(([^a-df-z]|^)shop|shopping).*") -%}
    case
        when {{ source }} is null and {{ medium }} is null and {{ campaign }} is null
            then 'Unknown'
        when {{ source }} = '(direct)' and coalesce({{ medium }}, '(none)') in ('(not set)', '(none)')
            then 'Direct'
        when {{ campaign }} like '%cross-network%' then 'Cross-network'
        when ({{ category }} = 'SOURCE_CATEGORY_SHOPPING' or {{ shop_campaign }}) and {{ paid }}
            then 'Paid Shopping'
        when {{ category }} = 'SOURCE_CATEGORY_SEARCH' and {{ paid }} then 'Paid Search'
        when {{ category }} = 'SOURCE_CATEGORY_SOCIAL' and {{ paid }} then 'Paid Social'
        when {{ category }} = 'SOURCE_CATEGORY_VIDEO' and {{ paid }} then 'Paid Video'
        when {{ medium }} in ('display', 'banner', 'expandable', 'interstitial', 'cpm')
            then 'Display'
        when {{ paid }} then 'Paid Other'
        when {{ category }} = 'SOURCE_CATEGORY_SHOPPING' or {{ shop_campaign }}
            then 'Organic Shopping'
        when {{ category }} = 'SOURCE_CATEGORY_SOCIAL'
            or {{ medium }} in ('social', 'social-network', 'social-media', 'sm', 'social network', 'social media')
            then 'Organic Social'
        when {{ category }} = 'SOURCE_CATEGORY_VIDEO' or {{ medium }} like '%video%'
            then 'Organic Video'
        when {{ category }} = 'SOURCE_CATEGORY_SEARCH' or {{ medium }} = 'organic'
            then 'Organic Search'
        when {{ medium }} in ('referral', 'app', 'link') then 'Referral'
        when {{ source }} in ('email', 'e-mail', 'e_mail', 'e mail')
            or {{ medium }} in ('email', 'e-mail', 'e_mail', 'e mail')
            then 'Email'
        when {{ medium }} = 'affiliate' then 'Affiliates'
        when {{ medium }} = 'audio' then 'Audio'
        when {{ source }} = 'sms' or {{ medium }} = 'sms' then 'SMS'
        when {{ medium }} like '%push' or {{ medium }} like '%mobile%'
            or {{ medium }} like '%notification%' or {{ source }} = 'firebase'
            then 'Mobile Push Notifications'
        else 'Unassigned'
    end
{%- endmacro %}

{#- A traffic source as the category list spells it: lower case, no scheme, no "www.". -#}
{% macro normalized_source(column) -%}
    nullif(regexp_replace(lower(trim({{ column }})), '^(https?://)?(www[.])?', ''), '')
{%- endmacro %}

{#- A campaign name for matching: lower case, every run of punctuation or spaces one '_'. -#}
{% macro normalized_name(column) -%}
    {{ return(adapter.dispatch('normalized_name', 'acrm')(column)) }}
{%- endmacro %}

{% macro default__normalized_name(column) -%}
    nullif(trim(regexp_replace(lower(trim({{ column }})), '[^\p{L}\p{N}]+', '_', 'g'), '_'), '')
{%- endmacro %}

{#- Spark's regexp_replace replaces every match (its 4th argument is a position), its
    trim(a, b) trims a from b, and its string literals take a backslash as an escape. -#}
{% macro spark__normalized_name(column) -%}
    nullif(btrim(regexp_replace(lower(trim({{ column }})), '[^\\p{L}\\p{N}]+', '_'), '_'), '')
{%- endmacro %}
