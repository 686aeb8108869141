"""Business rules both dbt and Python use, read from the one place they are defined: the
dbt project's `vars` (dbt_project/dbt_project.yml). A data engineer changes a rule there,
and the marts and the mining code follow it together."""

from __future__ import annotations

import datetime as dt
import functools

import yaml

from core.settings import DBT_PROJECT_DIR


@functools.cache
def dbt_vars() -> dict:
    """The dbt project's vars, as dbt reads them without --vars."""
    return yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text())["vars"]


def churn_horizon_days() -> int:
    """A customer with no paid order for this many days has churned."""
    return int(dbt_vars()["churn_horizon_days"])


def date_key(day: dt.date) -> int:
    """The integer key of a day in marts.dim_dates (yyyymmdd), as the dbt macro `date_key`
    (dbt_project/macros/keys.sql) writes it."""
    return day.year * 10000 + day.month * 100 + day.day


# A new customer's value: the revenue of their paid orders in this many days from the first,
# the first included (mining.new_customer_value, the generator's truth).
FIRST_YEAR_DAYS = 365
