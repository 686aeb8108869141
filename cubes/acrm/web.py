"""The website: page views, visitors, sessions, engagement, lead sessions."""

from __future__ import annotations

from cubes.acrm.facts import count
from cubes.model import Aggregate, Ratio, Source

MEASURES = (
    # web
    Aggregate(
        "page_views", "Page views", sources=count("web_events", "is_page_view"), integer=True
    ),
    Aggregate(
        "engagement_seconds",
        "Engagement time, seconds",
        format="{:,.1f}",
        sources=(Source("web_events", "coalesce(engagement_seconds, 0)"),),
    ),
    Ratio(
        "avg_engagement_seconds",
        "Engagement seconds per page view (as rpt_content_engagement)",
        format="{:,.1f}",
        numerator="engagement_seconds",
        denominator="page_views",
    ),
    Aggregate(
        "visitors",
        "Distinct web visitors (pseudo ids)",
        sources=(Source("web_events", "user_pseudo_id", "count_distinct"),),
        integer=True,
    ),
    Aggregate("sessions", "Web sessions", sources=count("web_sessions"), integer=True),
    Aggregate(
        "lead_sessions",
        "Web sessions with a lead event",
        sources=count("web_sessions", "has_lead"),
        integer=True,
    ),
    Ratio(
        "session_lead_rate",
        "Sessions with a lead / sessions",
        format="{:.2%}",
        numerator="lead_sessions",
        denominator="sessions",
    ),
)
