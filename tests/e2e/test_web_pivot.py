"""The web pivot in a real headless browser (Debian's chromium and chromedriver, installed by
`make test` through tools/ensure-apt), against a real `acrm serve` on the built warehouse."""

import csv
import io
import os
import shutil
import sys
import time
from pathlib import Path

import duckdb
import pytest

from tests.conftest import missing_tool
from tests.e2e.servers import free_port, running

CHROMIUM = shutil.which("chromium")
CHROMEDRIVER = shutil.which("chromedriver")
ACRM = str(Path(sys.executable).with_name("acrm"))


@pytest.fixture(scope="module", autouse=True)
def _chromium() -> None:
    if not (CHROMIUM and CHROMEDRIVER):
        missing_tool("no chromium/chromedriver: `make test` installs Debian's (tools/ensure-apt)")


@pytest.fixture(scope="module")
def server(built_warehouse, tmp_path_factory: pytest.TempPathFactory):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "ACRM_WAREHOUSE": str(built_warehouse.warehouse)}
    env.pop("ACRM_API_TOKEN", None)
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    with running([ACRM, "serve", "--port", str(port)], env, f"{url}/api/levels", log, timeout=60):
        yield url


@pytest.fixture(scope="module")
def downloads(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("downloads")


@pytest.fixture(scope="module")
def browser(downloads: Path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        options.add_argument(argument)
    options.add_argument("--window-size=1400,1000")
    options.add_experimental_option(
        "prefs",
        {"download.default_directory": str(downloads), "download.prompt_for_download": False},
    )
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    yield driver
    driver.quit()


def wait_for(driver, condition, timeout: float = 30):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout).until(condition)


def table_rows(driver) -> list[list[str]]:
    from selenium.webdriver.common.by import By

    return [
        [cell.text for cell in row.find_elements(By.TAG_NAME, "td")]
        for row in driver.find_elements(By.CSS_SELECTOR, "#pivot tbody tr")
    ]


def number(text: str) -> float:
    return float(text.replace(",", ""))


def test_the_pivot_renders_drills_sorts_charts_and_exports(
    server, browser, built_warehouse, downloads: Path, tmp_path: Path
) -> None:
    from PIL import Image
    from selenium.webdriver.common.by import By

    with duckdb.connect(str(built_warehouse.published), read_only=True) as con:
        by_channel = {  # independent SQL over the published marts, not the cube
            channel: float(revenue)
            for channel, revenue in con.execute(
                "select c.channel, sum(o.revenue) from marts.fct_orders as o "
                "join marts.dim_channels as c using (channel_key) where o.is_paid group by 1"
            ).fetchall()
        }

    browser.get(server)
    wait_for(browser, lambda d: len(table_rows(d)) > 1)
    rows = table_rows(browser)
    # default view: revenue, orders, avg check by channel with the grand total last
    assert rows[-1][0] == "Total"
    assert number(rows[-1][1]) == pytest.approx(sum(by_channel.values()), abs=1)
    shown = {r[0]: number(r[1]) for r in rows[:-1]}
    assert shown == pytest.approx(by_channel, abs=1)

    screenshot = tmp_path / "pivot.png"
    browser.save_screenshot(str(screenshot))
    image = Image.open(screenshot).convert("RGB")
    assert image.size[0] >= 1000
    colours = image.getcolors(maxcolors=1 << 16)
    assert colours is None or len(colours) > 20  # text, table borders, chips: not a blank page
    table_box = browser.find_element(By.ID, "pivot").rect
    assert table_box["width"] > 200 and table_box["height"] > 100

    # sort by revenue: the detail rows come largest first, the total stays last
    browser.find_element(By.CSS_SELECTOR, "#pivot th:nth-child(2)").click()
    wait_for(browser, lambda d: table_rows(d)[0][0] == max(by_channel, key=by_channel.get))
    values = [number(r[1]) for r in table_rows(browser)[:-1]]
    assert values == sorted(values, reverse=True)

    # drill down into Email: rows become its sources, filtered to Email
    members = browser.find_elements(By.CSS_SELECTOR, "td.member.drillable")
    email = next(c for c in members if c.text == "Email")
    email.click()
    wait_for(browser, lambda d: "channel.source" in d.find_element(By.ID, "rows").text)
    assert "channel.channel=Email" in browser.find_element(By.ID, "filters").text
    assert number(table_rows(browser)[-1][1]) == pytest.approx(by_channel["Email"], abs=1)

    # drill back up with the chip's arrow
    browser.find_element(By.CSS_SELECTOR, "#rows .chip button[title^='drill up']").click()
    wait_for(browser, lambda d: "channel.channel" in d.find_element(By.ID, "rows").text)
    assert browser.find_element(By.ID, "filters").text == ""

    # a bad filter from the UI's own controls is impossible; a server error would show here
    assert browser.find_element(By.ID, "error").is_displayed() is False

    # chart view draws an SVG chart with the library served locally
    browser.find_element(By.ID, "show-chart").click()
    wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#chart .main-svg"))
    assert browser.find_element(By.ID, "chart-view").is_displayed()

    # CSV export downloads the same answer
    browser.find_element(By.ID, "export").click()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not list(downloads.glob("*.csv")):
        time.sleep(0.3)
    exported = next(downloads.glob("*.csv")).read_text()
    records = list(csv.DictReader(io.StringIO(exported)))
    detail = {r["channel.channel"]: float(r["revenue"]) for r in records if r["_grouping"] == "0"}
    assert detail == pytest.approx(by_channel, abs=0.01)
