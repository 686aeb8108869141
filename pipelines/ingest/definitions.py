import dagster as dg

from pipelines.ingest.assets import landing_assets

defs = dg.Definitions(assets=landing_assets)
