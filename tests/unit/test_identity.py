"""Identity resolution rules: phones to E.164, emails normalised and hashed."""

import hashlib

import duckdb
import pytest

from pipelines.identity.resolution import e164, email_hash


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("+7 (916) 123-45-67", "+79161234567"),
        ("8 916 123-45-67", "+79161234567"),
        ("89161234567", "+79161234567"),
        ("916-123-4567", "+79161234567"),
        ("79161234567", "+79161234567"),
        ("00447911123456", "+447911123456"),
        ("+44 7911 123456", "+447911123456"),
        ("101", None),  # an internal extension is no customer's phone
        (None, None),
    ],
)
def test_phones_typed_any_common_way_become_e164(typed, expected) -> None:
    with duckdb.connect() as con:
        sql = f"select {e164('x')} from (select ?::varchar as x)"
        assert con.execute(sql, [typed]).fetchall()[0][0] == expected


def test_emails_are_normalised_typo_fixed_and_only_their_hash_kept() -> None:
    with duckdb.connect() as con:

        def hashed(value):
            sql = f"select {email_hash('x')} from (select ?::varchar as x)"
            return con.execute(sql, [value]).fetchall()[0][0]

        expected = hashlib.sha256(b"ivan.petrov@gmail.com").hexdigest()
        assert hashed("  Ivan.Petrov@GMAIL.com ") == expected
        assert hashed("IVAN.PETROV@GMIAL.COM") == expected  # the typo'd domain is the same
        assert hashed("not an email") is None
