"""The access policies' tests (test_access.py) again, with the HTTP API answering from the
PostgreSQL publication (ACRM_PUBLISHED): a North user sees no South row there either."""

import pytest

from core.settings import Settings
from tests.integration.test_postgres_reader import star_url  # noqa: F401
from tests.unit.test_access import (  # noqa: F401  (the same tests, PostgreSQL answering)
    client,
    test_a_north_user_sees_north_only_in_rows_totals_and_filters,
    test_a_user_without_a_policy_sees_everything,
    test_facts_without_the_dimension_are_refused_unless_allowed,
    test_member_lists_hold_the_allowed_members_only,
    test_the_budget_what_if_sees_the_allowed_channels_or_the_opened_facts,
    test_the_funnel_what_if_is_limited_to_the_allowed_managers,
    test_top_n_drills_and_csv_stay_inside_the_policy,
    test_unknown_or_missing_tokens_get_401_and_are_never_logged,
)


@pytest.fixture
def settings(star_url, monkeypatch) -> Settings:  # noqa: F811
    url, settings = star_url
    monkeypatch.setenv("ACRM_PUBLISHED", url)
    return settings
