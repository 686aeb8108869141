"""Who may see what, over HTTP, on the hand-built star of test_cube_engine (North: Anna and
Boris, revenue 200; South: Clara, 300; no manager: 25): a North user never sees South's
rows through any endpoint, an unknown token gets 401, a user without a policy sees all."""

import logging
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from core.settings import ServeSettings, Settings
from serving.api import create_app
from serving.users import Users, token_digest
from tests.unit.test_serving_api import settings  # noqa: F401  (the published star)

TOKENS = {"north": "north-secret-1", "all": "all-secret-2", "boss": "boss-secret-3",
          "moscow": "moscow-secret-4", "email": "email-secret-5",
          "marketing": "marketing-secret-6"}  # fmt: skip
USERS = f"""
users:
  - name: north
    token_sha256: {token_digest(TOKENS["north"])}
    role: analyst
    policy:
      manager.team: [North]
  - name: all
    token_sha256: {token_digest(TOKENS["all"])}
  - name: boss
    token_sha256: {token_digest(TOKENS["boss"])}
    role: admin
    policy:
      manager.team: North
      unrestricted_facts: [spend]
  - name: moscow
    token_sha256: {token_digest(TOKENS["moscow"])}
    role: admin
    policy:
      customer.region: Moscow
  - name: email
    token_sha256: {token_digest(TOKENS["email"])}
    policy:
      channel.channel: Email
  - name: marketing
    token_sha256: {token_digest(TOKENS["marketing"])}
    policy:
      manager.team: North
      unrestricted_facts: [spend, attributed_revenue]
"""


@pytest.fixture
def client(settings: Settings, tmp_path: Path, monkeypatch) -> TestClient:  # noqa: F811
    users = tmp_path / "users.yml"
    users.write_text(USERS)
    monkeypatch.delenv("ACRM_API_TOKEN", raising=False)
    serve = ServeSettings(users_file=str(users))
    app = create_app(settings, serve, allowed_hosts=("testserver",))
    return TestClient(app, raise_server_exceptions=False)


def _as(who: str) -> dict:
    return {"Authorization": f"Bearer {TOKENS[who]}"}


def _revenue_by_team(client: TestClient, who: str, **params) -> dict:
    answer = client.get(
        "/api/query", params={"measures": "revenue", "rows": "manager.team", **params},
        headers=_as(who),
    )  # fmt: skip
    assert answer.status_code == 200, answer.text
    return {r["manager.team"]: r["revenue"] for r in answer.json()["records"]}


def test_a_north_user_sees_north_only_in_rows_totals_and_filters(client) -> None:
    assert _revenue_by_team(client, "north") == {"North": 200.0}
    totals = _revenue_by_team(client, "north", totals="true")
    assert totals == {"North": 200.0, None: 200.0}  # the grand total is North's too
    assert _revenue_by_team(client, "north", filter="manager.team=South") == {}
    whole = client.get("/api/query", params={"measures": "revenue"}, headers=_as("north"))
    assert whole.json()["records"][0]["revenue"] == 200.0


def test_top_n_drills_and_csv_stay_inside_the_policy(client) -> None:
    top = client.get(
        "/api/query",
        params={"measures": "revenue", "rows": "manager.manager", "top": "5:revenue"},
        headers=_as("north"),
    ).json()
    assert {r["manager.manager"] for r in top["records"]} <= {"Anna", "Boris"}
    drilled = client.get(
        "/api/query",
        params={"measures": "revenue", "rows": "manager.team", "drill_down": "manager.team=South"},
        headers=_as("north"),
    ).json()
    assert drilled["records"] == []
    exported = client.get(
        "/api/query",
        params={"measures": "revenue", "rows": "manager.manager", "format": "csv"},
        headers=_as("north"),
    ).text
    assert "Clara" not in exported and "Anna" in exported


def test_member_lists_hold_the_allowed_members_only(client) -> None:
    teams = client.get("/api/members", params={"level": "manager.team"}, headers=_as("north"))
    assert teams.json()["members"] == ["North"]
    managers = client.get(
        "/api/members", params={"level": "manager.manager"}, headers=_as("north")
    ).json()["members"]
    assert set(managers) == {"Anna", "Boris"}
    everyone = client.get("/api/members", params={"level": "manager.manager"}, headers=_as("all"))
    assert "Clara" in everyone.json()["members"]


def test_facts_without_the_dimension_are_refused_unless_allowed(client) -> None:
    refused = client.get("/api/query", params={"measures": "spend"}, headers=_as("north"))
    assert refused.status_code == 403 and "spend" in refused.json()["detail"]
    allowed = client.get("/api/query", params={"measures": "spend"}, headers=_as("boss"))
    assert allowed.status_code == 200
    mixed = client.get("/api/query", params={"measures": "spend,revenue"}, headers=_as("boss"))
    assert mixed.status_code == 403 and "separately" in mixed.json()["detail"]
    whatif = client.get(
        "/api/whatif/budget",
        params={"move": 0.1, "from": "Display", "to": "Email"},
        headers=_as("north"),
    )
    assert whatif.status_code == 403


def test_the_funnel_what_if_is_limited_to_the_allowed_managers(client) -> None:
    params = {"manager": "Clara", "stage": "Proposal", "conversion": 0.5}
    south = client.get("/api/whatif/funnel", params=params, headers=_as("north"))
    assert south.status_code == 403 and "Clara" in south.json()["detail"]
    assert "Anna" in south.json()["detail"] and "Boris" in south.json()["detail"]
    moscow = client.get("/api/whatif/funnel", params=params, headers=_as("moscow"))
    assert moscow.status_code == 403 and "manager levels" in moscow.json()["detail"]


def test_the_budget_what_if_sees_the_allowed_channels_or_the_opened_facts(client) -> None:
    params = {"move": 0.1, "from": "Display", "to": "Email"}
    whole = client.get("/api/whatif/budget", params=params, headers=_as("all"))
    assert whole.status_code == 200, whole.text
    # Email's lead: Display's spend and revenue are not read, so Display has no spend for them
    email = client.get("/api/whatif/budget", params=params, headers=_as("email"))
    assert email.status_code == 400
    assert email.json()["detail"].endswith("the channels with spend are: Email")
    # a team lead whose policy opens both facts the budget reads gets the whole answer
    opened = client.get("/api/whatif/budget", params=params, headers=_as("marketing"))
    assert opened.status_code == 200 and opened.json() == whole.json()
    # spend opened, attributed revenue not: refused, saying what an admin could open
    boss = client.get("/api/whatif/budget", params=params, headers=_as("boss"))
    assert boss.status_code == 403
    assert "spend, attributed_revenue to you (unrestricted_facts)" in boss.json()["detail"]


def test_a_user_without_a_policy_sees_everything(client) -> None:
    assert _revenue_by_team(client, "all") == {"North": 200.0, "South": 300.0, "(none)": 25.0}


def test_unknown_or_missing_tokens_get_401_and_are_never_logged(client, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = client.get("/api/levels", headers={"Authorization": "Bearer not-a-user"})
    assert wrong.status_code == 401
    assert client.get("/api/levels").status_code == 401
    assert client.get("/api/levels", headers=_as("north")).status_code == 200
    assert client.get("/health").status_code == 200
    assert not any(t in caplog.text for t in [*TOKENS.values(), "not-a-user"])


def test_audiences_are_written_by_admins_inside_their_policy(client, settings) -> None:  # noqa: F811
    import pandas as pd

    from cubes.audiences import folder_of, write_files

    everyone = pd.DataFrame({"customer_id": [10, 11], "group": ["treatment"] * 2})
    write_files(folder_of(settings.published), everyone, {"audience": "all", "levels": []})
    body = {"name": "everyone", "crm": False}
    for who in ("north", "all"):  # analysts
        assert client.post("/api/audiences", json=body, headers=_as(who)).status_code == 403
    boss = client.post("/api/audiences", json=body, headers=_as("boss"))
    assert boss.status_code == 403 and "customer levels" in boss.json()["detail"]
    mine = client.post("/api/audiences", json={**body, "name": "mine"}, headers=_as("moscow"))
    assert mine.status_code == 200, mine.text  # customer 10 is in Moscow, 11 in Kazan
    assert mine.json()["size"] == 1 and "customer.region=Moscow" in mine.json()["levels"]
    seen = client.get("/api/audiences", headers=_as("moscow")).json()
    assert [a["audience"] for a in seen] == ["mine"]
    assert client.get("/api/audiences", headers=_as("north")).status_code == 403


def test_a_bad_users_file_names_the_user_and_the_fix(tmp_path: Path) -> None:
    from cubes import ACRM_CUBE

    path = tmp_path / "users.yml"
    path.write_text("users:\n  - name: eve\n    token_sha256: plaintext\n")
    with pytest.raises(ValueError, match=r"'eve'.*64 hex digits"):
        Users.load(path, ACRM_CUBE)
    path.write_text(
        f"users:\n  - name: eve\n    token_sha256: {'a' * 64}\n"
        "    policy:\n      manager.tema: [North]\n"
    )
    with pytest.raises(ValueError, match=r"manager\.tema"):
        Users.load(path, ACRM_CUBE)
