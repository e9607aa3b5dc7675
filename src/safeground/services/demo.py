"""The ``demo`` use case: build a seeded scenario into a database, with its truth and context beside it.

Every record goes through :func:`safeground.services.records.add_records`, so the demo data obeys
the same validation and IMAS land-release rules as real data.
"""

from __future__ import annotations

import multiprocessing
import os
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from safeground.domain.config import RiskConfig, RiskLayerConfig
from safeground.domain.errors import ConfigError, ConflictError, StoreError
from safeground.scenario.generate import context_layers, iter_record_steps, simulate, truth_layers
from safeground.scenario.geography import COUNTRY
from safeground.scenario.params import params_for
from safeground.scenario.records import ORDER
from safeground.scenario.truth import context_path, truth_path, write_layers
from safeground.services import users
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


class _SideFiles:
    """Writes the truth and context files while the records are stored.

    Where the platform can fork, a child process writes them (GDAL holds the GIL, so a thread would not
    help), sharing the simulated world copy-on-write; elsewhere they are written here, first.
    """

    def __init__(self, world: Any, truth: Path, context: Path) -> None:
        self._proc: multiprocessing.process.BaseProcess | None = None
        if "fork" in multiprocessing.get_all_start_methods():
            self._proc = multiprocessing.get_context("fork").Process(
                target=_write_side_files, args=(world, truth, context), name="safeground-demo-truth")
            self._proc.start()
        else:
            _write_side_files(world, truth, context)

    def cancel(self) -> None:
        if self._proc is not None and self._proc.is_alive():
            self._proc.terminate()
            self._proc.join()

    def wait(self) -> None:
        if self._proc is None:
            return
        self._proc.join()
        if self._proc.exitcode != 0:
            raise StoreError("demo.side_files_failed",
                             f"Writing the truth and context files failed (exit code {self._proc.exitcode}).",
                             hint="Check there is free disk space beside the database, then build again.")


def _write_side_files(world: Any, truth: Path, context: Path) -> None:
    write_layers(truth, truth_layers(world))
    write_layers(context, context_layers(world))


def demo_risk_layers(context_file: str) -> RiskConfig:
    """The demo's context layers for risk surfaces: its context file's line of contact, roads, rivers and bridges
    (a path relative to the database's folder), and the database's own settlements.

    >>> [(c.kind, c.layer) for c in demo_risk_layers("demo.context.gpkg").layers][:2]
    [('contact', 'line_of_contact'), ('road', 'roads')]
    """
    pairs = (("contact", "line_of_contact"), ("road", "roads"), ("water", "rivers"), ("bridge", "bridges"))
    return RiskConfig(layers=[*(RiskLayerConfig(kind=k, file=context_file, layer=name) for k, name in pairs),
                              RiskLayerConfig(kind="settlement", file="db")])


def build_demo(ws: Workspace, *, scale: str = "small", seed: int = 1, progress: Progress | None = None,
               chunk: int = 2_000_000) -> DemoSummary:
    """Generate the ``scale`` scenario for ``seed`` and write it into ``ws``, its truth and context beside it.

    Refuses (``demo.not_empty``) a database that already holds hazard areas, and (``demo.wrong_country``)
    one configured for a country other than Colombia; sets ``country: COL`` if none is set, and the context
    layers of risk surfaces (``risk.layers``: its context file and settlements) if none are.
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
    db = ws.store.side_path
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
    writer = None
    try:
        writer = _SideFiles(world, partial_truth, partial_context)
        with ws.store.transaction():  # all records or none
            if not country:
                ws.set_config(ws.config.model_copy(update={"country": COUNTRY}))
            if not ws.config.risk.layers:
                ws.set_config(ws.config.model_copy(update={"risk": demo_risk_layers(context.name)}))
            for rows in iter_record_steps(world):  # one step in memory at a time
                for offset, batch in rows.batches(chunk):
                    add_records(ws, rows.layer, batch, system=True, offset=offset)
                counts[rows.layer] = counts.get(rows.layer, 0) + len(rows)
                advance(rows.layer)
                del rows
            writer.wait()  # inside the transaction: a failed side file leaves no records behind
            advance("truth")
            advance("context")
    except BaseException:
        if writer is not None:
            writer.cancel()
        for partial in (partial_truth, partial_context):
            for suffix in ("", "-journal", "-wal", "-shm"):
                Path(str(partial) + suffix).unlink(missing_ok=True)
        raise
    os.replace(partial_truth, truth)
    os.replace(partial_context, context)
    return DemoSummary(scale=params.scale, seed=seed, counts=counts, truth_path=truth, context_path=context,
                       seconds=round(time.perf_counter() - started, 3))


#: The demo's accounts, one per role, so the web app can be tried at once.
DEMO_ACCOUNTS = (("demo-admin", "admin"), ("demo-qa", "qa"), ("demo-entry", "data_entry"), ("demo-viewer", "viewer"))


def accounts_path(db: str | Path) -> Path:
    """``demo.gpkg`` -> ``demo.accounts.txt``: where the demo's accounts and their passwords are written."""
    path = Path(db)
    return path.with_name(path.stem + ".accounts.txt")


def add_demo_accounts(ws: Workspace) -> Path:
    """Add one account per role with a random passphrase, written (owner-readable only) to
    :func:`accounts_path`; accounts that exist already are left alone. Returns the file."""
    target = accounts_path(ws.store.side_path)
    lines = []
    for username, role in DEMO_ACCOUNTS:
        if ws.store.users(username=username):
            continue
        password = secrets.token_urlsafe(12)
        users.add_user(ws, username, role, password, display_name=f"Demo {role.replace('_', ' ')}")
        lines.append(f"{username:<12} {role:<11} {password}")
    if lines:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(fd, "a", encoding="utf-8") as out:
            head = ("# Demo accounts (username, role, password). Sign in on the home page of safeground serve "
                    "(http://127.0.0.1:8000/ unless --port says otherwise)\n")
            out.write(head * (target.stat().st_size == 0) + "\n".join(lines) + "\n")
    return target
