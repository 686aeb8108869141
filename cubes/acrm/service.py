"""Service: tickets, resolution, CSAT, NPS."""

from __future__ import annotations

from cubes.acrm.facts import count
from cubes.model import Aggregate, Difference, Ratio, Source

MEASURES = (
    # service
    Aggregate("tickets", "Service tickets opened", sources=count("tickets"), integer=True),
    Aggregate(
        "resolved_tickets",
        "Tickets resolved",
        sources=count("tickets", "is_resolved"),
        integer=True,
    ),
    Aggregate(
        "resolution_hours",
        "Hours to resolve, resolved tickets",
        format="{:,.1f}",
        sources=(Source("tickets", "case when is_resolved then resolution_hours else 0 end"),),
    ),
    Ratio(
        "avg_resolution_hours",
        "Average hours to resolve a ticket",
        format="{:.1f}",
        numerator="resolution_hours",
        denominator="resolved_tickets",
    ),
    Aggregate("survey_responses", "Survey responses", sources=count("surveys"), integer=True),
    Aggregate(
        "csat_points",
        "Sum of CSAT scores (1-5)",
        sources=(Source("surveys", "coalesce(csat, 0)"),),
        integer=True,
    ),
    Aggregate(
        "csat_answers",
        "Responses with a CSAT score",
        sources=count("surveys", "csat is not null"),
        integer=True,
    ),
    Ratio(
        "csat",
        "Average CSAT score, 1-5",
        format="{:.2f}",
        numerator="csat_points",
        denominator="csat_answers",
    ),
    Aggregate(
        "promoters", "NPS promoters (9-10)", sources=count("surveys", "is_promoter"), integer=True
    ),
    Aggregate(
        "detractors",
        "NPS detractors (0-6)",
        sources=count("surveys", "is_detractor"),
        integer=True,
    ),
    Aggregate(
        "nps_answers",
        "Responses with an NPS score",
        sources=count("surveys", "nps is not null"),
        integer=True,
    ),
    Difference("nps_net", "Promoters - detractors", minuend="promoters", subtrahend="detractors"),
    Ratio(
        "nps",
        "Net promoter score: (promoters - detractors) / NPS responses, as a share",
        format="{:+.1%}",
        numerator="nps_net",
        denominator="nps_answers",
    ),
)
