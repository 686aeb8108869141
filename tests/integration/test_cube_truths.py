"""Every planted truth the cube can slice is found through cube queries on the published
warehouse, and the cube's measures agree with the report marts that define them."""

import duckdb
import pytest

from cubes import CubeSession, TopN


@pytest.fixture(scope="module")
def cube(built_warehouse) -> CubeSession:
    return CubeSession(built_warehouse.published)


@pytest.fixture(scope="module")
def managers(built_warehouse) -> dict[int, str]:
    with duckdb.connect(str(built_warehouse.published), read_only=True) as con:
        return dict(
            con.execute("select manager_id, manager_name from marts.dim_managers").fetchall()
        )


def members(table, level: str, measure: str) -> dict:
    return {r[level]: r[measure] for r in table.to_pylist() if r[measure] is not None}


def test_the_weak_manager_has_the_lowest_conversion_at_the_planted_stage(cube, truth, managers):
    stage = truth["weak_manager"]["stage"]
    result = cube.query_names(
        ["stage_conversion"], ["manager.manager"], filters=[f"funnel.stage={stage}"]
    )
    conversion = members(result, "manager.manager", "stage_conversion")
    weakest = min(conversion, key=conversion.get)
    assert weakest == managers[truth["weak_manager"]["manager_id"]]
    assert conversion[weakest] == pytest.approx(
        truth["measured"]["weak_manager_conversion"], abs=1e-3
    )


def test_the_skipping_manager_skips_the_planted_stage_most(cube, truth, managers):
    stage = truth["skipping_manager"]["stage"]
    result = cube.query_names(
        ["deals_skipped", "deals_reached"], ["manager.manager"], filters=[f"funnel.stage={stage}"]
    )
    rate = {
        r["manager.manager"]: r["deals_skipped"] / r["deals_reached"] for r in result.to_pylist()
    }
    assert max(rate, key=rate.get) == managers[truth["skipping_manager"]["manager_id"]]


def test_the_funnel_leaks_most_at_the_planted_stage_for_the_planted_reason(cube, truth):
    stages = members(
        cube.query_names(["stage_conversion"], ["funnel.stage"]), "funnel.stage", "stage_conversion"
    )
    assert min(stages, key=stages.get) == truth["funnel"]["largest_dropoff_stage"]
    top_reason = cube.query_names(
        ["lost_deals"],
        ["loss_reason.reason"],
        filters=["loss_reason.reason!=Unknown"],
        top=TopN("loss_reason.reason", "lost_deals", 1),
    )
    assert list(members(top_reason, "loss_reason.reason", "lost_deals")) == [
        truth["funnel"]["dominant_loss_reason"]
    ]


@pytest.mark.parametrize("model", ["last_touch", "linear"])
def test_the_lowest_and_highest_romi_are_the_planted_channels(cube, truth, model):
    result = cube.query_names(["romi"], ["channel.channel"], filters=[f"attribution.model={model}"])
    romi = members(result, "channel.channel", "romi")
    assert min(romi, key=romi.get) == truth["romi"]["negative_channel"] and min(romi.values()) < 0
    assert max(romi, key=romi.get) == truth["romi"]["best_channel"]
    lowest = cube.query_names(
        ["romi"], ["channel.channel"], top=TopN("channel.channel", "romi", 1, lowest=True)
    )
    assert list(members(lowest, "channel.channel", "romi")) == [truth["romi"]["negative_channel"]]


def test_calls_peak_and_are_missed_most_at_the_planted_hours(cube, truth):
    peak = cube.query_names(["calls"], ["time.hour"], top=TopN("time.hour", "calls", 1))
    assert list(members(peak, "time.hour", "calls")) == [truth["calls"]["peak_hour"]]
    load = cube.query_names(["missed_call_rate", "inbound_calls"], ["time.hour"]).to_pylist()
    total = sum(r["inbound_calls"] for r in load)
    busy = {
        r["time.hour"]: r["missed_call_rate"] for r in load if r["inbound_calls"] >= 0.01 * total
    }
    assert max(busy, key=busy.get) == truth["calls"]["worst_missed_rate_hour"]


def test_the_manager_who_misses_most_is_found_through_the_cube(cube, truth, built_warehouse):
    top = cube.query_names(
        ["missed_calls", "missed_rings"],
        ["manager.manager"],
        top=TopN("manager.manager", "missed_calls", 1),
    )
    with duckdb.connect(str(built_warehouse.published), read_only=True) as con:
        planted = con.execute(
            "select manager_name from marts.dim_managers where manager_key = ?",
            [truth["calls"]["most_missed_manager"]],
        ).fetchall()[0][0]
    row = top.to_pylist()[0]
    assert row["manager.manager"] == planted
    missed = truth["calls"]["missed_calls_by_manager"][str(truth["calls"]["most_missed_manager"])]
    assert row["missed_calls"] == missed
    everyone = cube.query_names(["missed_calls"], ["manager.manager"]).to_pylist()
    assert all(r["missed_calls"] > 0 for r in everyone if r["manager.manager"] != "(none)")
    assert not [r for r in everyone if r["manager.manager"] == "(none)" and r["missed_calls"]]


def test_the_most_engaging_page_is_the_planted_one(cube, truth):
    pages = cube.query_names(["avg_engagement_seconds", "page_views"], ["content.page"]).to_pylist()
    total = sum(r["page_views"] for r in pages)
    engaging = {
        r["content.page"]: r["avg_engagement_seconds"]
        for r in pages
        if r["page_views"] >= 0.005 * total and r["content.page"] != "Unknown"
    }
    assert max(engaging, key=engaging.get) == truth["content"]["most_engaging_page"]


def test_the_planted_segment_has_the_highest_value_per_customer(cube, truth):
    result = cube.query_names(
        ["revenue_per_customer"], ["customer.segment"], filters=["customer.segment!=Unknown"]
    )
    value = members(result, "customer.segment", "revenue_per_customer")
    assert max(value, key=value.get) == truth["clv"]["top_segment"]


def test_cube_totals_equal_the_planted_totals(cube, truth):
    totals = cube.query_names(["revenue", "orders", "won_deals", "lost_deals", "calls", "spend"])
    row = totals.to_pylist()[0]
    expected = truth["totals"]
    assert row["revenue"] == pytest.approx(expected["revenue"], abs=0.01)
    assert (row["orders"], row["won_deals"], row["lost_deals"], row["calls"]) == (
        expected["orders"],
        expected["won_deals"],
        expected["lost_deals"],
        expected["calls"],
    )
    assert row["spend"] == pytest.approx(expected["spend"], abs=0.01)


def test_cube_measures_agree_with_the_report_marts(cube, built_warehouse):
    """One definition: the cube's ROMI, stage conversion and missed-call rate equal the marts'."""
    with duckdb.connect(str(built_warehouse.published), read_only=True) as con:
        romi = dict(
            con.execute(
                "select channel, (sum(attributed_revenue) - sum(spend)) / sum(spend) "
                "from marts.rpt_marketing_romi where attribution_model = 'first_touch' "
                "group by channel having sum(spend) > 0"
            ).fetchall()
        )
        conversion = dict(
            con.execute(
                "select stage_name, sum(deals_advanced) / sum(deals_reached) "
                "from marts.rpt_funnel_conversion where stage_conversion is not null group by 1"
            ).fetchall()
        )
        missed = dict(
            con.execute(
                "select hour_key, sum(missed_calls) / sum(inbound_calls) from marts.rpt_call_load "
                "group by 1 having sum(inbound_calls) > 0"
            ).fetchall()
        )
    cube_romi = members(
        cube.query_names(["romi"], ["channel.channel"], filters=["attribution.model=first_touch"]),
        "channel.channel",
        "romi",
    )
    assert cube_romi == pytest.approx({k: float(v) for k, v in romi.items()})
    cube_conversion = members(
        cube.query_names(["stage_conversion"], ["funnel.stage"]), "funnel.stage", "stage_conversion"
    )
    assert cube_conversion == pytest.approx({k: float(v) for k, v in conversion.items()})
    cube_missed = members(
        cube.query_names(["missed_call_rate"], ["time.hour"]), "time.hour", "missed_call_rate"
    )
    assert {h: r for h, r in cube_missed.items() if h in missed} == pytest.approx(
        {k: float(v) for k, v in missed.items()}
    )
