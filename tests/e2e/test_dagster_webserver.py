"""`dagster dev` serves the same definitions `acrm run` executes: start the real webserver."""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from pipelines.definitions import defs

WEBSERVER = str(Path(sys.executable).with_name("dagster-webserver"))
QUERY = """{ assetNodes { assetKey { path } groupName }
             repositoriesOrError { ... on RepositoryConnection { nodes {
                 jobs { name } schedules { name } } } } }"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def webserver(tmp_path: Path):
    port = free_port()
    log = tmp_path / "webserver.log"
    with open(log, "w") as sink:
        process = subprocess.Popen(
            [WEBSERVER, "-m", "pipelines.definitions", "-h", "127.0.0.1", "-p", str(port)],
            env={**os.environ, "DAGSTER_HOME": str(tmp_path)},
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"dagster-webserver exited: {log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"{url}/server_info", timeout=2):
                break
        except OSError:
            time.sleep(1)
    else:
        process.kill()
        pytest.fail("dagster-webserver did not answer within 120 s")
    yield url
    process.terminate()
    process.wait(timeout=30)


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
