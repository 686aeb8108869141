"""Time in the generated world: day weights (season, weekday, Black Friday) and conversions.

Simulated times are float days since the first day's local midnight in Moscow time. The CRM
stores UTC, Asterisk stores the call center's local time, GA4 stores UTC microseconds.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

MOSCOW_UTC_OFFSET_HOURS = 3  # Moscow has had no daylight saving time since 2014
WEEKDAY_FACTOR = np.array([1.0, 1.05, 1.05, 1.0, 0.95, 0.55, 0.40])


@dataclass(frozen=True)
class Window:
    start: dt.date
    days: int

    @property
    def end(self) -> dt.date:
        return self.start + dt.timedelta(days=self.days - 1)

    def dates(self) -> list[dt.date]:
        return [self.start + dt.timedelta(days=d) for d in range(self.days)]

    def day_weights(self) -> np.ndarray:
        """Relative business activity of each day: December peak, summer dip, weekends low."""
        dates = self.dates()
        doy = np.array([d.timetuple().tm_yday for d in dates], dtype=float)
        weekday = np.array([d.weekday() for d in dates])
        season = 1.0 + 0.25 * np.cos(2 * np.pi * (doy - 350) / 365.25)
        black_friday = np.array([_is_black_friday_week(d) for d in dates], dtype=float)
        weights = season * WEEKDAY_FACTOR[weekday] * (1.0 + 1.2 * black_friday)
        return weights / weights.sum()

    def epoch_seconds_local(self, days: np.ndarray) -> np.ndarray:
        """Seconds since 1970 of local Moscow wall-clock times (as naive timestamps)."""
        base = dt.datetime.combine(self.start, dt.time()).replace(tzinfo=dt.UTC).timestamp()
        return np.floor(base + days * 86400.0).astype(np.int64)

    def local_days(self, epoch_seconds_local: np.ndarray) -> np.ndarray:
        """Days since the window's start (fractional) of local wall-clock epoch seconds."""
        base = dt.datetime.combine(self.start, dt.time()).replace(tzinfo=dt.UTC).timestamp()
        return (epoch_seconds_local - base) / 86400.0

    def epoch_seconds_utc(self, days: np.ndarray) -> np.ndarray:
        return self.epoch_seconds_local(days) - MOSCOW_UTC_OFFSET_HOURS * 3600


def _is_black_friday_week(day: dt.date) -> bool:
    if day.month != 11:
        return False
    last = dt.date(day.year, 11, 30)
    friday = last - dt.timedelta(days=(last.weekday() - 4) % 7)
    return friday - dt.timedelta(days=2) <= day <= friday + dt.timedelta(days=4)


def sample_days(rng: np.random.Generator, window: Window, n: int) -> np.ndarray:
    """n day indices following the window's activity weights."""
    return rng.choice(window.days, size=n, p=window.day_weights())


def sample_business_time(rng: np.random.Generator, n: int) -> np.ndarray:
    """Fractions of a day for office activity: mostly 09:00-21:00, peaking before noon."""
    hours = np.clip(rng.normal(13.0, 3.0, size=n), 8.0, 21.99)
    return hours / 24.0


def format_timestamps(epoch_seconds: np.ndarray) -> np.ndarray:
    """'YYYY-MM-DD HH:MM:SS' strings, as SQLite and Asterisk write them."""
    text = np.datetime_as_string(epoch_seconds.astype("datetime64[s]"), unit="s")
    if text.size == 0:  # numpy's replace cannot size an empty array's strings
        return text
    return np.char.replace(text, "T", " ")
