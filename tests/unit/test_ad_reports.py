# ruff: noqa: E501  (report fixtures keep each line whole, as the platforms write it)
"""Ad-platform reports as the platforms export them (from their documentation), into one
spend shape in the reporting currency."""

from pathlib import Path

import pytest

from pipelines.ingest.files import SourceError
from pipelines.ingest.sources import AD_SPEND
from tests.readers import read_whole

GOOGLE_UI = """Campaign report
"March 1, 2025 - March 2, 2025"
Day,Campaign,Campaign ID,Currency code,Cost,Impr.,Clicks
2025-03-01,google_brand,9000000001,RUB,"3,648.74","1,072",30
2025-03-02,google_brand,9000000001,RUB,--,0,0
Total: Account,--,--,RUB,"3,648.74","1,072",30
Total: Search,--,--,RUB,"3,648.74","1,072",30
"""
GOOGLE_API = """segments.date,customer.id,campaign.id,campaign.name,metrics.impressions,metrics.clicks,metrics.cost_micros,customer.currency_code
2025-03-01,1234567890,9000000001,google_brand,1072,30,3648740000,RUB
"""
META_API = """date_start,date_stop,account_id,account_currency,campaign_id,campaign_name,ad_id,impressions,clicks,spend
2025-03-01,2025-03-01,act_1007,USD,2385000000007,facebook_brand,2385000001001,366,4,99.18
2025-03-01,2025-03-01,act_1007,USD,2385000000007,facebook_brand,2385000001002,120,1,10.82
"""
META_MANAGER = """Campaign name,Campaign ID,Reporting starts,Reporting ends,Amount spent (EUR),Impressions,Link clicks
Spring sale,2385000000009,2025-03-01,2025-03-01,12.50,900,11
"""
YANDEX = (
    '"Campaign performance report (2025-03-01 - 2025-03-01)"\n'
    "Date\tCampaignId\tCampaignName\tImpressions\tClicks\tCost\n"
    "2025-03-01\t70000004\tyandex_direct · brand\t58\t2\t3648740000\n"
    "Total rows: 1\n"
)


def land_rows(tmp_path: Path, platform: str, name: str, text: str, encoding: str = "utf-8"):
    path = tmp_path / "ads" / platform / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode(encoding))
    batch = read_whole(AD_SPEND, path, tmp_path / "ads")
    (batch,) = AD_SPEND.shape([batch], tmp_path / "ads")
    if isinstance(batch, str):
        raise SourceError(batch)
    valid, rejected = AD_SPEND.contract().split(batch.rows, keep_raw=True)
    assert rejected.height == 0, rejected.to_dicts()
    return batch, valid


def test_google_ads_download_skips_titles_and_totals_and_reads_grouped_numbers(tmp_path) -> None:
    batch, valid = land_rows(tmp_path, "google_ads", "campaign_report.csv", GOOGLE_UI)
    assert batch.layout == "Google Ads UI download"
    assert batch.rows_read == 2 and batch.skipped == 5  # 2 titles, header, 2 totals
    assert valid["spend"].to_list() == [3648.74, 0.0]
    assert valid["impressions"].to_list() == [1072, 0]
    assert valid["platform"].to_list() == ["google_ads"] * 2


def test_google_ads_saved_for_excel_is_utf16_with_tabs(tmp_path) -> None:
    text = GOOGLE_UI.replace(",", "\t").replace('"3\t648.74"', "3648.74")
    text = text.replace('"1\t072"', "1072")
    _, valid = land_rows(tmp_path, "google_ads", "report.csv", "\ufeff" + text, "utf-16-le")
    assert valid["spend"].to_list() == [3648.74, 0.0]


def test_google_ads_api_report_costs_are_micros(tmp_path) -> None:
    batch, valid = land_rows(tmp_path, "google_ads", "api.csv", GOOGLE_API)
    assert batch.layout.startswith("Google Ads API")
    assert valid.row(0, named=True)["spend"] == pytest.approx(3648.74)


def test_meta_ad_level_rows_in_dollars_convert_by_the_rates_file(tmp_path) -> None:
    (tmp_path / "ads").mkdir()
    (tmp_path / "ads" / "fx_rates.csv").write_text("currency,rate\nUSD,90.5\n")
    _, valid = land_rows(tmp_path, "meta_ads", "insights.csv", META_API)
    assert valid["ad_id"].to_list() == ["2385000001001", "2385000001002"]
    assert valid["spend"].to_list() == pytest.approx([99.18 * 90.5, 10.82 * 90.5])
    assert valid["spend_original"].to_list() == [99.18, 10.82]
    assert set(valid["currency"]) == {"RUB"} and set(valid["currency_original"]) == {"USD"}


def test_meta_ads_manager_export_takes_the_currency_from_the_spend_header(
    tmp_path, monkeypatch
) -> None:
    monkeypatch.setenv("ACRM_FX_RATES", "EUR=100")
    _, valid = land_rows(tmp_path, "meta_ads", "ads_manager.csv", META_MANAGER)
    row = valid.row(0, named=True)
    assert (row["currency_original"], row["spend"], row["clicks"]) == ("EUR", 1250.0, 11)


def test_a_currency_without_a_rate_fails_the_file_naming_it(tmp_path) -> None:
    with pytest.raises(SourceError, match=r"insights\.csv: spend in USD but no rate to RUB"):
        land_rows(tmp_path, "meta_ads", "insights.csv", META_API)


def test_yandex_direct_report_micros_and_its_total_line(tmp_path, monkeypatch) -> None:
    batch, valid = land_rows(tmp_path, "yandex_direct", "report.tsv", YANDEX)
    assert batch.layout == "Yandex Direct report" and batch.skipped == 3
    assert valid.row(0, named=True)["spend"] == pytest.approx(3648.74)
    monkeypatch.setenv("ACRM_YANDEX_MONEY", "units")
    units = YANDEX.replace("3648740000", "3648.74")
    _, valid = land_rows(tmp_path, "yandex_direct", "units.tsv", units)
    assert valid.row(0, named=True)["spend"] == pytest.approx(3648.74)


def test_a_file_with_no_known_report_header_is_named(tmp_path) -> None:
    with pytest.raises(SourceError, match=r"export\.csv: no header of a known ad report"):
        land_rows(tmp_path, "other", "export.csv", "a,b,c\n1,2,3\n")
