-- The customer behind each phone number as the CDRs write it.
with

source as (
    select
        number,
        phone_e164,
        customer_id
    from {{ source('identity', 'call_numbers') }}
),

renamed as (
    select
        number as phone_number,
        phone_e164,
        customer_id
    from source
)

select * from renamed
