"""Identity resolution: which phone numbers, emails and web ids belong to which customer.

Phones are normalised to E.164 (Russian 8/7/10-digit forms, 00-prefixed international),
emails are trimmed, lower-cased, common domain typos fixed, and stored only as SHA-256.
The SQL is DuckDB's built-ins (regexp_replace, sha256), no extension.
"""

from __future__ import annotations

import duckdb

SCHEMA = "identity"
# Every number a CDR line names (caller and callee): which of them is the other party is
# decided once, in staging.stg_calls__cdr (external_number); extensions have no E.164 form.
CDR_NUMBERS = "select src as number from raw.cdr_calls union select dst from raw.cdr_calls"


def e164(column: str) -> str:
    """SQL: the E.164 form of a phone number typed any common way, or null."""
    digits = f"regexp_replace(coalesce({column}, ''), '[^0-9]', '', 'g')"
    return f"""case
        when length({digits}) = 11 and {digits} like '8%' then '+7' || substr({digits}, 2)
        when length({digits}) = 10 and {digits} like '9%' then '+7' || {digits}
        when {digits} like '00%' and length({digits}) between 12 and 17
            then '+' || substr({digits}, 3)
        when length({digits}) between 11 and 15 then '+' || {digits}
    end"""


# Misspelt domains people type into forms, and the domain they meant.
DOMAIN_FIXES = {
    "gmial.com": "gmail.com",
    "gmal.com": "gmail.com",
    "mail.ry": "mail.ru",
    "yandex.ry": "yandex.ru",
    "bk.ry": "bk.ru",
    "lsit.ru": "list.ru",
    "inbox.ry": "inbox.ru",
    "outlok.com": "outlook.com",
    "yaho.co.uk": "yahoo.co.uk",
    "icloud.co": "icloud.com",
}


def email_hash(column: str) -> str:
    """SQL: SHA-256 of the normalised email, or null."""
    email = f"lower(trim({column}))"
    # not split_part: DuckDB 2.0 fails to bind `split_part(x, ...) = '...'` on a column
    # that holds only nulls (a CRM without e-mails)
    domain = f"regexp_extract({email}, '@([^@]*)$', 1)"
    fixed = (
        "case "
        + " ".join(
            f"when {domain} = '{typo}' then '{right}'" for typo, right in DOMAIN_FIXES.items()
        )
        + f" else {domain} end"
    )
    return (
        f"case when {email} like '%_@_%.__%' then "
        f"sha256(regexp_extract({email}, '^([^@]*)@', 1) || '@' || {fixed}) end"
    )


def latest(table: str, key: str) -> str:
    return (
        f"(select * from (select *, row_number() over (partition by {key} order by "
        f"_loaded_at desc, updated_at desc) as _rank from raw.{table}) "
        f"where _rank = 1 and not _deleted)"
    )


def build_identity_map(con: duckdb.DuckDBPyConnection) -> dict[str, float]:
    """Write identity.customer_identifiers, identity.call_numbers (each external number of
    the CDRs, its E.164 form and customer) and identity.match_rates; return the rates."""
    customers, contacts = (
        latest("crm_customers", "customer_id"),
        latest("crm_contacts", "contact_id"),
    )
    con.execute("begin transaction").fetchall()
    try:
        con.execute(f"create schema if not exists {SCHEMA}").fetchall()
        for sql in (
            _identifiers_sql(customers, contacts),
            _call_numbers_sql(),
            _match_rates_sql(customers),
        ):
            con.execute(sql).fetchall()
        con.execute("commit").fetchall()
    except BaseException:
        con.execute("rollback").fetchall()
        raise
    return dict(con.execute(f"select measure, rate from {SCHEMA}.match_rates").fetchall())


def _identifiers_sql(customers: str, contacts: str) -> str:
    """Each customer's phones (E.164), hashed emails and web user ids, from both tables."""
    return f"""
        create or replace table {SCHEMA}.customer_identifiers as
        with identifiers as (
            select customer_id, 'phone' as identifier_type, {e164("phone")} as identifier,
                   'crm.customers' as source from {customers}
            union all
            select customer_id, 'phone', {e164("value")}, 'crm.contacts'
            from {contacts} where kind = 'phone'
            union all
            select customer_id, 'email_sha256', {email_hash("email")}, 'crm.customers'
            from {customers}
            union all
            select customer_id, 'email_sha256', {email_hash("value")}, 'crm.contacts'
            from {contacts} where kind = 'email'
            union all
            select customer_id, 'web_user_id', web_user_id, 'crm.customers'
            from {customers}
        )
        select distinct customer_id, identifier_type, identifier, source from identifiers
        where identifier is not null
        """


def _call_numbers_sql() -> str:
    """Each external number of the CDRs, its E.164 form and the customer it belongs to."""
    return f"""
        create or replace table {SCHEMA}.call_numbers as
        with phones as (
            select identifier, min(customer_id) as customer_id
            from {SCHEMA}.customer_identifiers where identifier_type = 'phone' group by 1
        ),
        numbers as (
            select distinct number from ({CDR_NUMBERS}) as named
        ),
        normalised as (
            select number, {e164("number")} as phone_e164 from numbers
            where number is not null
        )
        select normalised.number, normalised.phone_e164, phones.customer_id
        from normalised left join phones on normalised.phone_e164 = phones.identifier
        """


def _match_rates_sql(customers: str) -> str:
    """How much of the calls, the web events and the customers the map covers."""
    return f"""
        create or replace table {SCHEMA}.match_rates as
        with calls as (
            select
                coalesce(caller.customer_id, callee.customer_id) as customer_id,
                coalesce(caller.phone_e164, callee.phone_e164) as number
            from raw.cdr_calls
            left join {SCHEMA}.call_numbers as caller on src = caller.number
            left join {SCHEMA}.call_numbers as callee on dst = callee.number
        ),
        web as (
            select user_id from raw.ga4_events
        ),
        web_ids as (
            select distinct identifier from {SCHEMA}.customer_identifiers
            where identifier_type = 'web_user_id'
        ),
        base as (select count(*) as customers from {customers})
        select 'calls matched to a customer by phone' as measure,
               avg(case when customer_id is not null then 1.0 else 0 end) as rate
        from calls
        union all
        select 'call numbers in E.164',
               avg(case when number is not null then 1.0 else 0 end)
        from calls
        union all
        select 'web events with a known user_id',
               avg(case when web_ids.identifier is not null then 1.0 else 0 end)
        from web left join web_ids on web.user_id = web_ids.identifier
        union all
        select 'customers with a phone',
               (select count(distinct customer_id) from {SCHEMA}.customer_identifiers
                where identifier_type = 'phone') / max(customers) from base
        union all
        select 'customers with an email',
               (select count(distinct customer_id) from {SCHEMA}.customer_identifiers
                where identifier_type = 'email_sha256') / max(customers) from base
        """
