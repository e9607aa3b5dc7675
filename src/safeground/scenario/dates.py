"""Dates as ``datetime64[D]`` arrays: uniform draws, offsets and coarsening to a precision.

``NaT`` means "did not happen"; the record validation turns it into a missing value.

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> d = between(rng, day("2020-01-01"), day("2020-12-31"), 100)
>>> bool((d >= day("2020-01-01")).all() and (d <= day("2020-12-31")).all())
True
>>> [str(x) for x in coarsen(np.array(["2020-05-17"] * 3, dtype="datetime64[D]"),
...                              np.array(["day", "month", "year"]))]
['2020-05-17', '2020-05-01', '2020-01-01']
"""

from __future__ import annotations

import numpy as np

NAT = np.datetime64("NaT", "D")


def day(text: str) -> np.datetime64:
    """One date from ISO text."""
    return np.datetime64(text, "D")


def between(rng: np.random.Generator, lo: np.ndarray | np.datetime64, hi: np.ndarray | np.datetime64,
            n: int) -> np.ndarray:
    """``n`` dates uniform in ``[lo, hi]`` (element-wise when arrays); ``hi < lo`` gives ``lo``."""
    lo_d = np.broadcast_to(np.asarray(lo, dtype="datetime64[D]"), (n,))
    hi_d = np.broadcast_to(np.asarray(hi, dtype="datetime64[D]"), (n,))
    span = np.maximum((hi_d - lo_d).astype(np.int64), 0)
    return lo_d + np.floor(rng.random(n) * (span + 1)).astype(np.int64).astype("timedelta64[D]")


def plus(dates: np.ndarray, rng: np.random.Generator, lo_days: float, hi_days: float) -> np.ndarray:
    """``dates`` plus a uniform whole number of days in ``[lo_days, hi_days]``."""
    n = len(dates)
    add = np.floor(rng.uniform(lo_days, hi_days + 1, n)).astype(np.int64)
    return dates + add.astype("timedelta64[D]")


def precisions(rng: np.random.Generator, n: int, p_month: float = 0.12, p_year: float = 0.05) -> np.ndarray:
    """Date precision codes: mostly ``day``, some ``month`` or ``year``."""
    u = rng.random(n)
    return np.where(u < p_year, "year", np.where(u < p_year + p_month, "month", "day")).astype(object)


def coarsen(dates: np.ndarray, precision: np.ndarray) -> np.ndarray:
    """Round dates down to the first of the month or year where the precision says so."""
    out = dates.copy()
    month = precision == "month"
    year = precision == "year"
    out[month] = dates[month].astype("datetime64[M]").astype("datetime64[D]")
    out[year] = dates[year].astype("datetime64[Y]").astype("datetime64[D]")
    return out
