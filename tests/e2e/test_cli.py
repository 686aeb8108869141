"""The `acrm` command as a user runs it: JSON on stdout only, clear errors, exit codes."""

import csv
import io
import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from cubes import default_cube
from cubes.model import TIME_FUNCTIONS

ACRM = str(Path(sys.executable).with_name("acrm"))


def acrm(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([ACRM, *args], capture_output=True, text=True, check=False, timeout=600)


def test_generate_with_json_prints_only_json_and_progress_on_stderr(tmp_path: Path) -> None:
    result = acrm(
        "generate",
        "--scale",
        "0.05",
        "--seed",
        "11",
        "--start",
        "2025-01-01",
        "--out",
        str(tmp_path),
        "--format",
        "json",
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["files"]["calls"] == len(list((tmp_path / "calls").rglob("*.csv")))
    with sqlite3.connect(tmp_path / "crm" / "crm.sqlite") as crm:
        customers = crm.execute("select count(*) from customers").fetchall()[0][0]
    assert report["totals"]["customers"] == customers == 1000
    assert "CRM" in result.stderr  # progress went to stderr
    assert (tmp_path / "truth.json").exists()


def test_cube_query_json_is_a_list_of_records_keyed_by_names(built_warehouse) -> None:
    result = acrm(
        "cube",
        "query",
        "--measures",
        "revenue,won_deals,win_rate",
        "--rows",
        "channel.channel",
        "--cols",
        "manager.team",
        "--filter",
        "manager.team=North,South",
        "--warehouse",
        str(built_warehouse.warehouse),
        "--format",
        "json",
    )
    assert result.returncode == 0, result.stderr
    records = json.loads(result.stdout)
    assert records and {
        "channel.channel",
        "manager.team",
        "revenue",
        "won_deals",
        "win_rate",
    } <= set(records[0])
    assert {r["manager.team"] for r in records} == {"North", "South"}
    expected = paid_revenue(
        built_warehouse,
        "join marts.dim_managers as m using (manager_key) where m.team_name in ('North', 'South')",
    )
    assert detail_revenue(records) == pytest.approx(expected, rel=1e-9)


def paid_revenue(built_warehouse, join_where: str) -> float:
    """Revenue of paid orders by independent SQL over the published marts."""
    with duckdb.connect(str(built_warehouse.published), read_only=True) as con:
        return float(
            con.execute(
                "select sum(o.revenue) from (select * from marts.fct_orders where is_paid) as o "
                + join_where
            ).fetchall()[0][0]
        )


def detail_revenue(records: list[dict]) -> float:
    """The revenue of a CLI answer's detail rows (no totals)."""
    return sum(r["revenue"] or 0 for r in records if r.get("_grouping", 0) == 0)


def test_the_issue_example_with_top_n_drill_and_time_functions(built_warehouse) -> None:
    where = ["--warehouse", str(built_warehouse.warehouse), "--format", "json"]
    example = acrm(
        "cube", "query", "--measures", "revenue,win_rate", "--rows", "channel.channel",
        "--cols", "date.quarter", "--filter", "manager.team=North", *where,
    )  # fmt: skip
    assert example.returncode == 0, example.stderr
    records = json.loads(example.stdout)
    assert {r["date.quarter"] for r in records} >= {"2025-Q1", "2025-Q4"}
    top = acrm(
        "cube", "query", "--measures", "revenue", "--rows", "product.product",
        "--top", "3:revenue", *where,
    )  # fmt: skip
    assert top.returncode == 0, top.stderr
    every = acrm("cube", "query", "--measures", "revenue", "--rows", "product.product", *where)
    ranked = sorted(json.loads(every.stdout), key=lambda r: r["revenue"] or 0, reverse=True)
    assert {r["product.product"] for r in json.loads(top.stdout)} == {
        r["product.product"] for r in ranked[:3]
    }
    drilled = acrm(
        "cube", "query", "--measures", "revenue", "--rows", "channel.channel",
        "--drill-down", "channel.channel=Email", *where,
    )  # fmt: skip
    assert drilled.returncode == 0, drilled.stderr
    sources = json.loads(drilled.stdout)
    assert {"channel.source"} <= set(sources[0])
    email = paid_revenue(
        built_warehouse,
        "join marts.dim_channels as c using (channel_key) where c.channel = 'Email'",
    )
    assert detail_revenue(sources) == pytest.approx(email, rel=1e-9)
    growth = acrm(
        "cube", "query", "--measures", "revenue,revenue:growth,revenue:ytd", "--rows",
        "date.month", "--filter", "date.month=2025-02..2025-03", *where,
    )  # fmt: skip
    assert growth.returncode == 0, growth.stderr
    months = {r["date.month"]: r for r in json.loads(growth.stdout)}
    assert set(months) == {"2025-02", "2025-03"}
    assert months["2025-03"]["revenue:ytd"] > months["2025-02"]["revenue:ytd"] > 0


def test_cube_query_csv_has_a_header_and_rows(built_warehouse) -> None:
    result = acrm(
        "cube",
        "query",
        "--measures",
        "revenue",
        "--rows",
        "date.quarter",
        "--warehouse",
        str(built_warehouse.warehouse),
        "--format",
        "csv",
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert lines[0].startswith('"date.quarter"') and len(lines) >= 5
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    total = sum(float(r["revenue"]) for r in rows if r["revenue"])
    assert total == pytest.approx(paid_revenue(built_warehouse, ""), rel=1e-9)


def test_unknown_names_exit_non_zero_naming_the_bad_part(built_warehouse) -> None:
    result = acrm(
        "cube",
        "query",
        "--measures",
        "revenue",
        "--rows",
        "channel.chanel",
        "--warehouse",
        str(built_warehouse.warehouse),
    )
    assert result.returncode == 2
    assert "unknown level 'channel.chanel'" in result.stderr
    assert "channel.channel" in result.stderr
    assert result.stdout == ""
    for args, message in [
        (["--filter", "manager.team"], "malformed filter 'manager.team'"),
        (["--measures", "revenue:growth"], "needs a calendar level"),
        (["--top", "three:revenue"], "write N:MEASURE"),
        (["--drill-up", "channel.channel"], "not on rows or columns"),
    ]:
        base = ["--measures", "revenue"] if "--measures" not in args else []
        bad = acrm("cube", "query", *base, *args, "--warehouse", str(built_warehouse.warehouse))
        assert bad.returncode == 2 and message in bad.stderr, (args, bad.stderr)


def test_run_with_json_prints_only_json_even_with_dbt_logging(
    small_sources, truth, tmp_path: Path
) -> None:
    result = acrm(
        "run",
        "--sources",
        str(small_sources),
        "--warehouse",
        str(tmp_path / "w.duckdb"),
        "--format",
        "json",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout)
    assert Path(report["published"]).exists()
    landed = report["rows_landed"]  # against what the generator measured on its own output
    assert landed["call center (calls/)"] == truth["totals"]["call_legs"]
    assert landed["website (web/)"] == truth["totals"]["web_events"]
    assert "dbt build" in result.stderr  # dbt's own log went to stderr


def test_run_without_sources_says_what_to_do(tmp_path: Path) -> None:
    result = acrm(
        "run", "--sources", str(tmp_path / "none"), "--warehouse", str(tmp_path / "w.duckdb")
    )
    assert result.returncode == 2
    assert "run `acrm generate` first" in result.stderr


def test_levels_and_measures_are_listed_with_descriptions() -> None:
    levels = json.loads(acrm("cube", "levels", "--format", "json").stdout)
    measures = json.loads(acrm("cube", "measures", "--format", "json").stdout)
    required_levels = (
        "date.year date.quarter date.month date.day time.hour customer.segment customer.region "
        "customer.rfm_segment channel.channel channel.campaign manager.team manager.manager "
        "funnel.stage product.category product.product attribution.model"
    )
    required_measures = (
        "revenue orders avg_check customers deals won_deals lost_deals win_rate "
        "stage_conversion avg_cycle_days spend romi cpl leads calls missed_calls "
        "missed_call_rate avg_talk_seconds retention_rate churned_customers csat"
    )
    assert set(required_levels.split()) <= {row["level"] for row in levels}
    assert set(required_measures.split()) <= {row["measure"] for row in measures}
    assert "MEASURE:previous_period" in {row["measure"] for row in measures}
    assert all(row["description"] for row in levels + measures)
    cube = default_cube()  # every name of the cube model, each listed once
    assert (
        len(measures)
        == len(cube.measures) + len(TIME_FUNCTIONS)
        == len({row["measure"] for row in measures})
    )
    assert len(levels) == len(cube.level_catalogue())


def test_mine_clv_on_the_cdnow_sample_prints_the_published_parameters(tmp_path: Path) -> None:
    source = Path(__file__).parents[1] / "data" / "CDNOW_sample.txt"
    rows = [line.split() for line in source.read_text().splitlines()]
    csv_path = tmp_path / "cdnow.csv"
    csv_path.write_text("customer,date,amount\n" + "".join(f"{r[1]},{r[2]},{r[4]}\n" for r in rows))
    out = tmp_path / "clv.csv"
    result = acrm(
        "mine", "clv", "--transactions", str(csv_path), "--customer-col", "customer",
        "--date-col", "date", "--amount-col", "amount", "--observation-end", "1997-09-30",
        "--time-unit", "week", "--out", str(out), "--format", "json",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    bgnbd, gg = report["bgnbd"], report["gamma_gamma"]
    assert [round(bgnbd[k], 3) for k in ("r", "alpha", "a", "b")] == [0.243, 4.414, 0.793, 2.426]
    assert [round(gg[k], 2) for k in ("p", "q", "gamma")] == [6.25, 3.74, 15.44]
    assert round(bgnbd["log_likelihood"], 1) == -9582.4
    lines = out.read_text().splitlines()
    assert lines[0].split(",")[-1] == "clv" and len(lines) == 2358
    bad = acrm(
        "mine", "clv", "--transactions", str(csv_path), "--customer-col", "client",
        "--date-col", "date", "--amount-col", "amount", "--observation-end", "1997-09-30",
    )  # fmt: skip
    assert bad.returncode == 2 and "no column 'client'" in bad.stderr


def test_report_writes_the_html_and_prints_what_to_act_on(built_warehouse, tmp_path) -> None:
    out = tmp_path / "report.html"
    warehouse = str(built_warehouse.warehouse)
    result = acrm("report", "--warehouse", warehouse, "--out", str(out), "--format", "json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["path"] == str(out)
    with duckdb.connect(str(built_warehouse.published), read_only=True) as con:
        peak = con.execute(  # independent SQL: the local hour with the most calls
            "select hour(started_at) from marts.fct_calls group by 1 order by count(*) desc limit 1"
        ).fetchall()[0][0]
    assert document["act_on"]["calls"].startswith(f"Calls peak at {peak:02d}:00")
    assert f"Calls peak at {peak:02d}:00" in out.read_text(encoding="utf-8")
    assert set(document["act_on"]) == {
        "funnel",
        "managers",
        "romi",
        "cohorts",
        "nvl",
        "calls",
        "content",
        "pipeline",
        "forecast",
        "personas",
        "new_customers",
        "actions",
        "whatif",
    }
    missing = acrm("report", "--warehouse", str(tmp_path / "none" / "acrm.duckdb"))
    assert missing.returncode == 2 and "acrm run" in missing.stderr


CRM_FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "crm"


def test_crm_maps_init_and_check_as_a_user_runs_them(tmp_path: Path) -> None:
    maps = json.loads(acrm("crm", "maps", "--format", "json").stdout)
    assert {m["map"] for m in maps} == {
        "sample",
        "csv",
        "hubspot",
        "salesforce",
        "amocrm",
        "bitrix24",
    }
    started = acrm("crm", "init", "--from", "bitrix24")
    assert started.returncode == 0 and "crm.deal.list" in started.stdout
    (tmp_path / "mine.yml").write_text(started.stdout, encoding="utf-8")
    url = f"file://{CRM_FIXTURES / 'bitrix24'}"
    checked = acrm(
        "crm", "check", "--map", str(tmp_path / "mine.yml"), "--url", url, "--format", "json"
    )
    assert checked.returncode == 0, checked.stderr
    report = json.loads(checked.stdout)
    rows = {e["entity"]: (e["status"], e["rows"]) for e in report["entities"]}
    assert rows["deals"] == ("mapped", 10) and rows["orders"] == ("absent", 0)
    assert "fct_orders" in report["empty"] and "revenue" in report["empty_measures"]
    assert "won_deals" not in report["empty_measures"]


def test_crm_check_names_the_bad_map_key_and_exits_non_zero(tmp_path: Path) -> None:
    text = (Path(__file__).resolve().parents[2] / "core" / "crm_maps" / "csv.yml").read_text()
    (tmp_path / "bad.yml").write_text(text.replace("lead_source: channel", "lead_source: chanel"))
    url = f"csv://{CRM_FIXTURES / 'csv'}"
    result = acrm(
        "crm", "check", "--map", str(tmp_path / "bad.yml"), "--url", url, "--format", "json"
    )
    assert result.returncode == 1
    deals = next(e for e in json.loads(result.stdout)["entities"] if e["entity"] == "deals")
    assert deals["status"] == "error"
    assert deals["detail"] == (
        f"{tmp_path / 'bad.yml'}: entities.deals.columns.lead_source: unknown column 'chanel' "
        "in deals (did you mean 'channel'?)"
    )
    typo = acrm("crm", "check", "--map", "hubspt", "--url", url)
    assert typo.returncode == 2 and "did you mean 'hubspot'?" in typo.stderr
