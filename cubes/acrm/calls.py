"""The call center: calls, answers, misses, call-backs, waits."""

from __future__ import annotations

from cubes.acrm.facts import count
from cubes.model import Aggregate, Ratio, Source

MEASURES = (
    # calls
    Aggregate("calls", "Calls", sources=count("calls"), integer=True),
    Aggregate(
        "answered_calls", "Calls answered", sources=count("calls", "is_answered"), integer=True
    ),
    Aggregate(
        "inbound_calls",
        "Inbound calls",
        sources=count("calls", "direction = 'inbound'"),
        integer=True,
    ),
    Aggregate(
        "missed_calls",
        "Inbound calls not answered",
        sources=count("calls", "is_missed"),
        integer=True,
    ),
    Aggregate(
        "missed_rings",
        "Legs of inbound calls that rang a manager who did not answer",
        sources=count("call_legs", "is_missed_ring"),
        integer=True,
    ),
    Aggregate("call_legs", "Call legs (CDR lines)", sources=count("call_legs"), integer=True),
    Aggregate(
        "called_back_calls",
        "Missed inbound calls called back (a later outbound call to the same number)",
        sources=count("calls", "callback_delay_minutes is not null"),
        integer=True,
    ),
    Aggregate(
        "callback_minutes",
        "Minutes from missed calls to their call-backs",
        format="{:,.1f}",
        sources=(Source("calls", "coalesce(callback_delay_minutes, 0)"),),
    ),
    Ratio(
        "avg_callback_minutes",
        "Average call-back delay of missed calls called back, minutes",
        format="{:,.1f}",
        numerator="callback_minutes",
        denominator="called_back_calls",
    ),
    Ratio(
        "missed_call_rate",
        "Missed calls / inbound calls (as rpt_call_load)",
        format="{:.1%}",
        numerator="missed_calls",
        denominator="inbound_calls",
    ),
    Aggregate(
        "talk_seconds",
        "Talk time of answered calls, seconds",
        sources=(Source("calls", "case when is_answered then talk_seconds else 0 end"),),
        integer=True,
    ),
    Ratio(
        "avg_talk_seconds",
        "Average talk time of an answered call, seconds",
        format="{:,.1f}",
        numerator="talk_seconds",
        denominator="answered_calls",
    ),
    Aggregate(
        "wait_seconds",
        "Time callers waited, seconds",
        sources=(Source("calls", "coalesce(wait_seconds, 0)"),),
        integer=True,
    ),
    Ratio(
        "avg_wait_seconds",
        "Average wait per call, seconds",
        format="{:,.1f}",
        numerator="wait_seconds",
        denominator="calls",
    ),
)
