"""The ``demo`` use case: build a seeded scenario into a database, with its truth and context beside it.

Every record goes through :func:`safeground.services.records.add_records`, so the demo data obeys
the same validation and IMAS land-release rules as real data.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from safeground.domain.errors import ConfigError, ConflictError
from safeground.scenario.generate import context_layers, iter_record_steps, simulate, truth_layers
from safeground.scenario.geography import COUNTRY
from safeground.scenario.params import params_for
from safeground.scenario.records import ORDER
from safeground.scenario.truth import context_path, truth_path, write_layers
from safeground.services.records import add_records
from safeground.services.workspace import Workspace

Progress = Callable[[str, int, int], None]


@dataclass
class DemoSummary:
    """What :func:`build_demo` wrote: records per layer, the side files and how long it took."""

    scale: str
    seed: int
    counts: dict[str, int] = field(default_factory=dict)
    truth_path: Path | None = None
    context_path: Path | None = None
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """Plain values, for ``--format json``."""
        return {"scale": self.scale, "seed": self.seed, "counts": dict(self.counts),
                "truth_path": None if self.truth_path is None else str(self.truth_path),
                "context_path": None if self.context_path is None else str(self.context_path),
                "seconds": self.seconds}


def build_demo(ws: Workspace, *, scale: str = "small", seed: int = 1, progress: Progress | None = None,
               chunk: int = 2_000_000) -> DemoSummary:
    """Generate the ``scale`` scenario for ``seed`` and write it into ``ws``, its truth and context beside it.

    Refuses (``demo.not_empty``) a database that already holds hazard areas, and (``demo.wrong_country``)
    one configured for a country other than Colombia; sets ``country: COL`` if none is set.
    ``progress(step, done, total)`` is called after each step. The side files appear only once every
    record is stored.
    """
    started = time.perf_counter()
    params = params_for(scale)
    if ws.store.count("hazard_area") > 0:
        raise ConflictError("demo.not_empty", f"{ws.store.location} already holds hazard areas.",
                            hint="Build the demo into a new database: give another --db path.")
    country = ws.config.country
    if country and country != COUNTRY:
        raise ConfigError("demo.wrong_country", f"The database is configured for {country}; the demo region "
                          f"lies in {COUNTRY}.", hint="Build the demo into a new database.")
    db = Path(ws.store.location)
    truth, context = truth_path(db), context_path(db)
    partial_truth = truth.with_name(truth.stem + ".partial.gpkg")
    partial_context = context.with_name(context.stem + ".partial.gpkg")

    world = simulate(params, seed)
    total = 3 + len(ORDER)
    done = 0

    def advance(name: str) -> None:
        nonlocal done
        done += 1
        if progress:
            progress(name, done, total)

    advance("generate")
    counts: dict[str, int] = {}
    try:
        # The side files first, so that the truth is freed before the records are built.
        write_layers(partial_truth, truth_layers(world))
        advance("truth")
        write_layers(partial_context, context_layers(world))
        advance("context")
        with ws.store.transaction():  # all records or none
            if not country:
                ws.set_config(ws.config.model_copy(update={"country": COUNTRY}))
            for rows in iter_record_steps(world):  # one step in memory at a time
                for offset, batch in rows.batches(chunk):
                    add_records(ws, rows.layer, batch, system=True, offset=offset)
                counts[rows.layer] = counts.get(rows.layer, 0) + len(rows)
                advance(rows.layer)
                del rows
    except BaseException:
        partial_truth.unlink(missing_ok=True)
        partial_context.unlink(missing_ok=True)
        raise
    os.replace(partial_truth, truth)
    os.replace(partial_context, context)
    return DemoSummary(scale=params.scale, seed=seed, counts=counts, truth_path=truth, context_path=context,
                       seconds=round(time.perf_counter() - started, 3))
