"""`dagster dev` serves the same definitions `acrm run` executes: start the real webserver."""

import json
import os
import sys
import urllib.request
from pathlib import Path

import pytest

from pipelines.definitions import defs
from tests.e2e.servers import free_port, running

WEBSERVER = str(Path(sys.executable).with_name("dagster-webserver"))
QUERY = """{ assetNodes { assetKey { path } groupName }
             repositoriesOrError { ... on RepositoryConnection { nodes {
                 jobs { name } schedules { name } } } } }"""


@pytest.fixture
def webserver(tmp_path: Path):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with running(
        [WEBSERVER, "-m", "pipelines.definitions", "-h", "127.0.0.1", "-p", str(port)],
        {**os.environ, "DAGSTER_HOME": str(tmp_path)},
        f"{url}/server_info",
        tmp_path / "webserver.log",
    ):
        yield url


def test_the_ui_serves_every_asset_job_and_schedule(webserver: str) -> None:
    request = urllib.request.Request(
        f"{webserver}/graphql",
        data=json.dumps({"query": QUERY}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        answer = json.loads(response.read())["data"]
    served = {"/".join(node["assetKey"]["path"]) for node in answer["assetNodes"]}
    expected = {
        key.to_user_string() for key in defs.get_repository_def().asset_graph.get_all_asset_keys()
    }
    assert served == expected
    repository = answer["repositoriesOrError"]["nodes"][0]
    assert "acrm_full_refresh" in {job["name"] for job in repository["jobs"]}
    assert {s["name"] for s in repository["schedules"]} == {"acrm_daily"}
