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


def build_calls(rng: np.random.Generator, window: Window, crm: Crm, n_calls: int) -> pl.DataFrame:
    """One row per call leg, with a `day` column (local date) for the daily files."""
    customers = crm.tables["customers"]
    names = [
        f"{f} {s}" for f, s in zip(customers["first_name"], customers["last_name"], strict=True)
    ]
    managers = crm.tables["managers"]
    n_managers = len(managers)

    # Primary calls: the day follows business activity (weekends quiet), the hour the planted
    # hourly profile.
    weights = window.day_weights() ** 1.3
    day = rng.choice(window.days, size=n_calls, p=weights / weights.sum())
    hours = np.array(list(spec.CALL_HOUR_WEIGHTS))
    hour_p = np.array(list(spec.CALL_HOUR_WEIGHTS.values()), dtype=float)
    hour = rng.choice(hours, size=n_calls, p=hour_p / hour_p.sum())
    start = day + (hour + rng.random(n_calls)) / 24.0
    inbound = rng.random(n_calls) < INBOUND_SHARE

    # Leads that began with a phone call are inbound calls at the deal's creation.
    lead_calls = crm.touches.filter(pl.col("kind") == "lead_call")
    lead_start = lead_calls["day"].to_numpy()
    lead_customer = lead_calls["customer_id"].to_numpy()

    start = np.concatenate([start, lead_start])
    inbound = np.concatenate([inbound, np.ones(len(lead_start), dtype=bool)])
    n = len(start)
    # Who is on the other end: a customer who already exists at that moment, or a stranger.
    existing = np.searchsorted(crm.customer_created_day, start)
    customer = np.where(
        (rng.random(n) < KNOWN_CALLER_SHARE) & (existing > 0),
        np.floor(rng.random(n) * np.maximum(existing, 1)).astype(np.int64) + 1,
        0,
    )
    if len(lead_start):
        customer[-len(lead_start) :] = lead_customer
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

    local_hour = np.floor((start % 1.0) * 24).astype(int)
    missed_p = np.array(
        [spec.MISSED_RATE_BY_HOUR.get(h, spec.MISSED_RATE_BASE) for h in local_hour]
    )
    answered = np.where(inbound, rng.random(n) >= missed_p, rng.random(n) >= OUTBOUND_NO_ANSWER)
    if len(lead_start):
        answered[-len(lead_start) :] = True

    # Call-backs: managers return part of the missed inbound calls after a delay.
    missed_in = np.flatnonzero(inbound & ~answered)
    back = missed_in[rng.random(len(missed_in)) < CALLBACK_SHARE]
    delay = rng.lognormal(np.log(45 / 1440), 0.9, size=len(back))
    back_start = start[back] + delay
    late = (back_start % 1.0) > 20.5 / 24
    back_start[late] = np.floor(back_start[late]) + 1 + (9.25 + rng.random(late.sum())) / 24
    keep = back_start < window.days
    back = back[keep]
    back_start = back_start[keep]

    start = np.concatenate([start, back_start])
    inbound = np.concatenate([inbound, np.zeros(len(back), dtype=bool)])
    phone = np.concatenate([phone, phone[back]])
    customer = np.concatenate([customer, customer[back]])
    manager = np.concatenate([manager, manager[back]])
    answered = np.concatenate([answered, rng.random(len(back)) >= OUTBOUND_NO_ANSWER])
    n = len(start)

    wait = np.where(answered, rng.lognormal(np.log(12), 0.6, n), rng.uniform(15, 60, n))
    wait = np.where(inbound, wait, rng.uniform(3, 25, n))
    talk = np.where(answered, np.maximum(5, rng.lognormal(np.log(110), 0.8, n)), 0)
    start_s = window.epoch_seconds_local(start)
    answer_s = start_s + wait.astype(np.int64)
    end_s = answer_s + talk.astype(np.int64)
    order = np.lexsort((start_s, end_s))

    eight = rng.random(n) < 0.55
    number = np.array(
        [people.telephony_format(p, e) for p, e in zip(phone, eight, strict=True)], dtype=object
    )
    extension = (manager + spec.FIRST_EXTENSION - 1).astype(str)
    manager_names = managers["full_name"].to_list()
    caller_name = np.array(
        [names[c - 1] if c else num for c, num in zip(customer, number, strict=True)]
    )
    chan_id = rng.integers(0, 2**31, size=n)
    no_answer = np.where(rng.random(n) < 0.85, "NO ANSWER", "BUSY")
    outbound_fail = np.where(rng.random(n) < 0.05, "FAILED", no_answer)
    disposition = np.where(answered, "ANSWERED", np.where(inbound, no_answer, outbound_fail))

    frame = pl.DataFrame(
        {
            "accountcode": [""] * n,
            "src": np.where(inbound, number, extension),
            "dst": np.where(inbound, spec.COMPANY_NUMBER, number),
            "dcontext": np.where(inbound, "from-trunk", "from-internal"),
            "clid": [
                f'"{caller_name[i]}" <{number[i]}>'
                if inbound[i]
                else f'"{manager_names[manager[i] - 1]}" <{extension[i]}>'
                for i in range(n)
            ],
            "channel": [
                f"SIP/trunk-{c:08x}" if inbound[i] else f"SIP/{extension[i]}-{c:08x}"
                for i, c in enumerate(chan_id)
            ],
            "dstchannel": [
                (f"SIP/{extension[i]}-{c + 1:08x}" if answered[i] else "")
                if inbound[i]
                else f"SIP/trunk-{c + 1:08x}"
                for i, c in enumerate(chan_id)
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
            "disposition": disposition,
            "amaflags": ["DOCUMENTATION"] * n,
            "uniqueid": [f"{s}.{i}" for i, s in enumerate(start_s)],
            "userfield": [""] * n,
        }
    )[order]
    local_day = np.floor(start[order]).astype(np.int64)
    return frame.with_columns(pl.Series("day", local_day))
