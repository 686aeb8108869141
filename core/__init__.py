"""The core: settings, source formats and contracts, CRM maps, the publication manifest.

It imports nothing of ACRM: every other package (generator, pipelines, cubes, mining,
serving, the CLI) builds on it.
"""
