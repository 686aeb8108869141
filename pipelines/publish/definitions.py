import dagster as dg

from pipelines.publish.assets import published_warehouse

defs = dg.Definitions(assets=[published_warehouse])
