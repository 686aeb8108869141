"""The call center: Asterisk CDR rows (Master.csv column order) in the center's local time."""

from __future__ import annotations

import numpy as np
import polars as pl

from acrm.generator import people, spec
from acrm.generator.calendar import Window, format_timestamps
from acrm.generator.crm import Crm

INBOUND_SHARE = 0.62
KNOWN_CALLER_SHARE = 0.75
CALLBACK_SHARE = 0.65
OUTBOUND_NO_ANSWER = 0.25


def build_calls(
    rng: np.random.Generator, window: Window, crm: Crm, n_calls: int, slow_manager: int
) -> pl.DataFrame:
    """One row per call leg, with a `day` column (local date) for the daily files.

    An inbound call goes to the sales queue, which rings managers one after another until
    one answers: each ring is a leg (a CDR line) sharing the call's uniqueid and linkedid,
    numbered by `sequence`. `slow_manager` is rung more often and answers less: the planted
    manager who misses most calls and rings.
    """
    managers = crm.tables["managers"]
    start, inbound, n_leads = _call_starts(rng, window, crm, n_calls)
    party = _parties(rng, crm, start, n_leads, len(managers))
    answered = _answered(rng, start, inbound, n_leads)
    start, inbound, answered, party = _with_callbacks(rng, window, start, inbound, answered, party)
    calls = _calls_frame(rng, window, crm, start, inbound, answered, party)
    legs = _legs(rng, calls, len(managers), slow_manager)
    return _cdr_rows(rng, legs, managers["full_name"].to_list(), window)


def _call_starts(rng, window: Window, crm: Crm, n_calls: int):
    """(start days, inbound flags, how many are lead calls): primary calls follow business
    activity by day (weekends quiet) and the planted profile by hour; the leads that began
    with a phone call are inbound calls at the deal's creation, at the end."""
    weights = window.day_weights() ** 1.3
    day = rng.choice(window.days, size=n_calls, p=weights / weights.sum())
    hours = np.array(list(spec.CALL_HOUR_WEIGHTS))
    hour_p = np.array(list(spec.CALL_HOUR_WEIGHTS.values()), dtype=float)
    hour = rng.choice(hours, size=n_calls, p=hour_p / hour_p.sum())
    start = day + (hour + rng.random(n_calls)) / 24.0
    inbound = rng.random(n_calls) < INBOUND_SHARE
    lead_start = crm.touches.filter(pl.col("kind") == "lead_call")["day"].to_numpy()
    start = np.concatenate([start, lead_start])
    inbound = np.concatenate([inbound, np.ones(len(lead_start), dtype=bool)])
    return start, inbound, len(lead_start)


def _parties(rng, crm: Crm, start: np.ndarray, n_leads: int, n_managers: int) -> dict:
    """Who is on each end: a customer who already exists at that moment (their phone) or a
    stranger (a random number), and a manager, the customer's owner more often than not."""
    n = len(start)
    existing = np.searchsorted(crm.customer_created_day, start)
    customer = np.where(
        (rng.random(n) < KNOWN_CALLER_SHARE) & (existing > 0),
        np.floor(rng.random(n) * np.maximum(existing, 1)).astype(np.int64) + 1,
        0,
    )
    if n_leads:
        lead_calls = crm.touches.filter(pl.col("kind") == "lead_call")
        customer[-n_leads:] = lead_calls["customer_id"].to_numpy()
    phone = np.array(
        [crm.customer_phone_e164[c - 1] if c else None for c in customer], dtype=object
    )
    customer = np.where(phone == None, 0, customer)  # noqa: E711 (numpy elementwise)
    stranger = customer == 0
    phone[stranger] = [f"79{x:09d}" for x in rng.integers(0, 999_999_999, size=stranger.sum())]
    owner = np.where(customer > 0, crm.customer_owner[np.maximum(customer, 1) - 1], 0)
    manager = np.where(
        (owner > 0) & (rng.random(n) < 0.7), owner, rng.integers(1, n_managers + 1, size=n)
    )
    return {"phone": phone, "customer": customer, "manager": manager}


def _answered(rng, start: np.ndarray, inbound: np.ndarray, n_leads: int) -> np.ndarray:
    """Inbound calls are missed at the planted rate of their hour; lead calls are answered."""
    n = len(start)
    local_hour = np.floor((start % 1.0) * 24).astype(int)
    missed_p = np.array(
        [spec.MISSED_RATE_BY_HOUR.get(h, spec.MISSED_RATE_BASE) for h in local_hour]
    )
    answered = np.where(inbound, rng.random(n) >= missed_p, rng.random(n) >= OUTBOUND_NO_ANSWER)
    if n_leads:
        answered[-n_leads:] = True
    return answered


def _with_callbacks(rng, window: Window, start, inbound, answered, party: dict):
    """The calls and the call-backs: managers return part of the missed inbound calls after
    a delay (the next morning when it would be after hours)."""
    missed_in = np.flatnonzero(inbound & ~answered)
    back = missed_in[rng.random(len(missed_in)) < CALLBACK_SHARE]
    delay = rng.lognormal(np.log(45 / 1440), 0.9, size=len(back))
    back_start = start[back] + delay
    late = (back_start % 1.0) > 20.5 / 24
    back_start[late] = np.floor(back_start[late]) + 1 + (9.25 + rng.random(late.sum())) / 24
    keep = back_start < window.days
    back = back[keep]
    back_start = back_start[keep]
    return (
        np.concatenate([start, back_start]),
        np.concatenate([inbound, np.zeros(len(back), dtype=bool)]),
        np.concatenate([answered, rng.random(len(back)) >= OUTBOUND_NO_ANSWER]),
        {k: np.concatenate([v, v[back]]) for k, v in party.items()},
    )


def _calls_frame(rng, window: Window, crm: Crm, start, inbound, answered, party: dict):
    """One row per call: its moment, direction, outcome, manager, number and times."""
    customers = crm.tables["customers"]
    names = [
        f"{f} {s}" for f, s in zip(customers["first_name"], customers["last_name"], strict=True)
    ]
    n = len(start)
    wait = np.where(answered, rng.lognormal(np.log(12), 0.6, n), rng.uniform(15, 60, n))
    wait = np.where(inbound, wait, rng.uniform(3, 25, n))
    talk = np.where(answered, np.maximum(5, rng.lognormal(np.log(110), 0.8, n)), 0)
    start_s = window.epoch_seconds_local(start)
    eight = rng.random(n) < 0.55
    number = np.array(
        [people.telephony_format(p, e) for p, e in zip(party["phone"], eight, strict=True)],
        dtype=object,
    )
    caller_name = [
        names[c - 1] if c else num for c, num in zip(party["customer"], number, strict=True)
    ]
    return pl.DataFrame(
        {
            "start_s": start_s,
            "inbound": inbound,
            "answered": answered,
            "manager": party["manager"],
            "number": number,
            "caller_name": caller_name,
            "wait": wait.astype(np.int64),
            "talk": talk.astype(np.int64),
            "chan": rng.integers(0, 2**30, size=n),
        }
    ).with_row_index("call")


RING_SECONDS = (12, 20)  # a queue rings a member this long before it tries the next


def _legs(
    rng: np.random.Generator, calls: pl.DataFrame, n_managers: int, slow: int
) -> pl.DataFrame:
    """Each call's legs: unanswered rings (queue calls), then the answering leg if any."""
    n = calls.height
    inbound, answered = calls["inbound"].to_numpy(), calls["answered"].to_numpy()
    # missed inbound calls rang 1-3 members; answered ones rang 0-2 before someone picked up
    unanswered = np.where(
        answered,
        rng.choice(3, size=n, p=(0.6, 0.3, 0.1)),
        rng.choice((1, 2, 3), size=n, p=(0.5, 0.35, 0.15)),
    )
    unanswered = np.where(inbound, unanswered, 0)
    weights = np.ones(n_managers)
    weights[slow - 1] = 6.0  # on duty most, picks up least
    call_of = np.repeat(np.arange(n), unanswered)
    ring_manager = rng.choice(n_managers, size=len(call_of), p=weights / weights.sum()) + 1
    rings = pl.DataFrame(
        {
            "call": call_of.astype(np.uint32),
            "leg_manager": ring_manager,
            "leg_answered": np.zeros(len(call_of), dtype=bool),
            "ring": rng.integers(*RING_SECONDS, size=len(call_of)),
        }
    )
    final = calls.filter(pl.col("answered") | ~pl.col("inbound")).select(
        "call",
        pl.col("manager").alias("leg_manager"),
        pl.col("answered").alias("leg_answered"),
        pl.col("wait").alias("ring"),
    )
    legs = pl.concat([rings, final]).sort("call", maintain_order=True)
    legs = legs.with_columns(
        (pl.int_range(pl.len()).over("call") + 1).alias("sequence"),
        (pl.col("ring").cum_sum().over("call") - pl.col("ring")).alias("offset"),
    )
    return legs.join(calls, on="call", how="left")


def _cdr_rows(
    rng: np.random.Generator, legs: pl.DataFrame, manager_names: list[str], window: Window
) -> pl.DataFrame:
    """Asterisk's fields for each leg (cdr_csv with newcdrcolumns), in time order."""
    n = legs.height
    leg = {name: legs[name].to_numpy() for name in legs.columns}
    start_s = leg["start_s"] + leg["offset"]
    answer_s = start_s + leg["ring"]
    end_s = np.where(leg["leg_answered"], answer_s + leg["talk"], answer_s)
    extension = (leg["leg_manager"] + spec.FIRST_EXTENSION - 1).astype(str)
    inbound, answered = leg["inbound"], leg["leg_answered"]
    uniqueid = np.array([f"{s}.{c}" for s, c in zip(leg["start_s"], leg["call"], strict=True)])
    chan = leg["chan"]
    no_answer = np.where(rng.random(n) < 0.85, "NO ANSWER", "BUSY")
    outbound_fail = np.where(rng.random(n) < 0.05, "FAILED", no_answer)
    number = leg["number"]
    frame = pl.DataFrame(
        {
            "accountcode": [""] * n,
            "src": np.where(inbound, number, extension),
            "dst": np.where(inbound, spec.COMPANY_NUMBER, number),
            "dcontext": np.where(inbound, "from-trunk", "from-internal"),
            "clid": [
                f'"{leg["caller_name"][i]}" <{number[i]}>'
                if inbound[i]
                else f'"{manager_names[leg["leg_manager"][i] - 1]}" <{extension[i]}>'
                for i in range(n)
            ],
            "channel": [
                f"SIP/trunk-{c:08x}" if inbound[i] else f"SIP/{extension[i]}-{c:08x}"
                for i, c in enumerate(chan)
            ],
            "dstchannel": [
                f"SIP/{extension[i]}-{c + s:08x}" if inbound[i] else f"SIP/trunk-{c + 1:08x}"
                for i, (c, s) in enumerate(zip(chan, leg["sequence"], strict=True))
            ],
            "lastapp": np.where(inbound, "Queue", "Dial"),
            "lastdata": [
                ("sales,t,,,300" if inbound[i] else f"SIP/trunk/{number[i]},60") for i in range(n)
            ],
            "start": format_timestamps(start_s),
            "answer": np.where(answered, format_timestamps(answer_s), ""),
            "end": format_timestamps(end_s),
            "duration": end_s - start_s,
            "billsec": np.where(answered, end_s - answer_s, 0),
            "disposition": np.where(
                answered, "ANSWERED", np.where(inbound, no_answer, outbound_fail)
            ),
            "amaflags": ["DOCUMENTATION"] * n,
            "uniqueid": uniqueid,
            "userfield": [""] * n,
            "peeraccount": [""] * n,
            "linkedid": uniqueid,
            "sequence": leg["sequence"],
        }
    )
    order = np.lexsort((leg["sequence"], start_s))
    local_day = np.floor(window.local_days(start_s[order])).astype(np.int64)
    return frame[order].with_columns(pl.Series("day", local_day))
