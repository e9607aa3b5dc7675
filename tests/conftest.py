"""Shared fixtures: a fresh workspace configured for Colombia, builders for land-release chains, and the
database of either backend (a GeoPackage file, or a PostGIS database in a throwaway cluster)."""

from __future__ import annotations

import csv
import glob
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import shapely

from safeground.domain.config import Config
from safeground.domain.errors import SafeGroundError
from safeground.io.naturalearth import country_outline
from safeground.services.demo import build_demo
from safeground.services.mapped_import import import_csv
from safeground.services.records import add_record
from safeground.services.workspace import Workspace

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "data"

# A 1 km x ~1.1 km hazard in eastern Colombia, and pieces of it.
HAZARD_BOX = shapely.box(-72.50, 5.00, -72.49, 5.01)
WEST_HALF = shapely.box(-72.50, 5.00, -72.495, 5.01)
EAST_HALF = shapely.box(-72.495, 5.00, -72.49, 5.01)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "test.gpkg"


# --- PostGIS: one throwaway cluster a session, a migrated template, a fresh database a test ---------------------
#: An existing server to test against instead (a URL whose user may create databases), e.g.
#: postgresql://postgres@127.0.0.1:5432/postgres
PG_URL_VARIABLE = "SAFEGROUND_TEST_PG"
_PG_MISSING = ("The PostGIS tests need PostgreSQL with PostGIS: install Debian's postgresql and "
               f"postgresql-15-postgis-3 (.ci/run does), or set {PG_URL_VARIABLE} to a server's URL. "
               "They are never skipped.")
_pg_names = itertools.count(1)


def _pg_run(args: list[str], as_user: str | None) -> None:
    cmd = ["runuser", "-u", as_user, "--", *args] if as_user else args
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode:
        pytest.fail(f"{' '.join(args[:1])} failed: {done.stderr.strip()}\n{_PG_MISSING}", pytrace=False)


@pytest.fixture(scope="session")
def pg_admin_url() -> Iterator[str]:
    """A maintenance URL of the PostGIS test server: SAFEGROUND_TEST_PG, else a cluster started here (initdb, on
    loopback and a free port, trust authentication, no fsync), stopped and deleted at the end of the session."""
    given = os.environ.get(PG_URL_VARIABLE)
    if given:
        yield given
        return
    if not glob.glob("/usr/share/postgresql/*/extension/postgis.control"):
        pytest.fail(_PG_MISSING, pytrace=False)
    with running_cluster("sg-test-pg-", ["initdb", "-A", "trust", "-U", "postgres", "-E", "UTF8"],
                         "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c jit=off "
                         "-c shared_buffers=128MB -c max_connections=60") as port:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"


@contextmanager
def running_cluster(prefix: str, make_data: list[str], options: str) -> Iterator[int]:
    """A PostgreSQL cluster of Debian's newest version, on loopback and a free port (yielded), in a temporary
    folder deleted afterwards: ``make_data`` (a program of its bin folder and its arguments, e.g. ``initdb`` or
    ``pg_basebackup``) writes the data folder, then ``pg_ctl`` starts it with ``options`` and stops it."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(Path(p).parts[-3]))
    if not found:
        pytest.fail(_PG_MISSING, pytrace=False)
    bin_ = Path(found[-1]).parent
    as_user = "postgres" if os.geteuid() == 0 else None  # PostgreSQL refuses to run as root
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    data = str(folder / "data")
    try:
        if as_user:
            shutil.chown(folder, as_user)
        _pg_run([str(bin_ / make_data[0]), *make_data[1:], "-D", data, "--no-sync"], as_user)
        opts = f"-k {folder} -p {port} -c listen_addresses=127.0.0.1 {options}"
        _pg_run([str(bin_ / "pg_ctl"), "-D", data, "-l", str(folder / "log"), "-o", opts, "-w", "start"], as_user)
        try:
            yield port
        finally:
            _pg_run([str(bin_ / "pg_ctl"), "-D", data, "-m", "immediate", "-w", "stop"], as_user)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _pg_url(admin_url: str, name: str) -> str:
    base, _, _db = admin_url.rpartition("/")
    return f"{base}/{name}"


def _pg_admin(admin_url: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql)


@pytest.fixture(scope="session")
def pg_template(pg_admin_url: str) -> Iterator[str]:
    """A database migrated to today's schema, copied for each test (much faster than migrating each)."""
    from safeground.store import open_store

    name = f"sg_template_{os.getpid()}"
    _pg_admin(pg_admin_url, f"DROP DATABASE IF EXISTS {name}")
    _pg_admin(pg_admin_url, f"CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8'")
    open_store(_pg_url(pg_admin_url, name), create=True).close()
    yield name
    _pg_admin(pg_admin_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def pg_empty_url(pg_admin_url: str) -> Iterator[str]:
    """The URL of a new database without even PostGIS (for migration tests); dropped after the test."""
    name = f"sg_test_{os.getpid()}_{next(_pg_names)}"
    _pg_admin(pg_admin_url, f"CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8'")
    yield _pg_url(pg_admin_url, name)
    _pg_admin(pg_admin_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@contextmanager
def _pg_copy(admin_url: str, template: str) -> Iterator[str]:
    name = f"sg_test_{os.getpid()}_{next(_pg_names)}"
    _pg_admin(admin_url, f"CREATE DATABASE {name} TEMPLATE {template} STRATEGY FILE_COPY")
    try:
        yield _pg_url(admin_url, name)
    finally:
        _pg_admin(admin_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def pg_url(pg_admin_url: str, pg_template: str) -> Iterator[str]:
    """The URL of a fresh SafeGround database of today's schema on the test server; dropped after the test."""
    with _pg_copy(pg_admin_url, pg_template) as url:
        yield url


@pytest.fixture(scope="module")
def pg_module_url(pg_admin_url: str, pg_template: str) -> Iterator[str]:
    """As ``pg_url``, shared by a test module."""
    with _pg_copy(pg_admin_url, pg_template) as url:
        yield url


@pytest.fixture(params=["gpkg", "postgis"])
def any_db(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A new database of each backend in turn: a GeoPackage path, then a PostGIS URL (open with create=True)."""
    if request.param == "gpkg":
        return str(tmp_path / "test.gpkg")
    # Files beside a server database (the tile cache, the demo's side files) go to the working folder: this test's.
    request.getfixturevalue("monkeypatch").chdir(tmp_path)
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture(scope="module", params=["gpkg", "postgis"])
def any_module_db(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """As ``any_db``, shared by a test module: for data built once (a demo) that the module's tests only read.
    A server database's side files go to a folder of the module's own, the working folder while it lasts."""
    folder = tmp_path_factory.mktemp(request.param)
    if request.param == "gpkg":
        yield str(folder / "test.gpkg")
        return
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)
        admin_url = request.getfixturevalue("pg_admin_url")
        with _pg_copy(admin_url, request.getfixturevalue("pg_template")) as url:
            yield url


def backend_db(backend: str, tmp_path: Path, name: str, request: pytest.FixtureRequest) -> str:
    """Another new database of ``backend`` for a test (``any_db`` gives one): ``tmp_path/name.gpkg``, or a fresh
    PostGIS database dropped after the test."""
    if backend == "gpkg":
        return str(tmp_path / f"{name}.gpkg")
    context = _pg_copy(request.getfixturevalue("pg_admin_url"), request.getfixturevalue("pg_template"))
    url = context.__enter__()
    request.addfinalizer(lambda: context.__exit__(None, None, None))
    return url


def copy_db(db: str, folder: Path, request: pytest.FixtureRequest) -> str:
    """A copy of the database ``db`` (which nobody may be connected to, on a server): ``folder/<name>`` for a
    GeoPackage, else a new database made from it as a template, dropped after the test."""
    if backend_of(db) == "gpkg":
        target = folder / Path(db).name
        shutil.copyfile(db, target)
        return str(target)
    context = _pg_copy(request.getfixturevalue("pg_admin_url"), db.rpartition("/")[2])
    url = context.__enter__()
    request.addfinalizer(lambda: context.__exit__(None, None, None))
    return url


def backend_of(db: str) -> str:
    """``"postgis"`` for a server URL, else ``"gpkg"``."""
    return "postgis" if db.startswith(("postgresql://", "postgres://")) else "gpkg"


#: Marks a test of a module whose ``ws`` is ``any_ws`` as one for the GeoPackage alone (it reads the file itself);
#: its ``db_path`` is then the workspace's file.
GPKG_ONLY = pytest.mark.parametrize("any_db", ["gpkg"], indirect=True)

_skipped_postgis: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped and "postgis" in report.nodeid:
        _skipped_postgis.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """A skipped PostGIS test fails the run: both backends are always tested."""
    if _skipped_postgis and exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture
def ws(db_path: Path) -> Iterator[Workspace]:
    workspace = Workspace.open(db_path, user="ana", create=True)
    workspace.set_config(Config(country="COL"))
    yield workspace
    workspace.close()


class Builder:
    """Makes the records a land-release test needs, with sensible defaults that obey the rules."""

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws

    def organisation(self, **kw: Any) -> dict[str, Any]:
        values = {"name": "Demining NGO", "accredited_from": "2020-01-01", "accredited_until": "2030-12-31", **kw}
        return add_record(self.ws, "organisation", values)

    def hazard(self, hazard_class: str = "cha", geometry: shapely.Geometry = HAZARD_BOX, **kw: Any) -> dict[str, Any]:
        values = {"name": "La Esperanza", "hazard_class": hazard_class, "status": "open", "geometry": geometry, **kw}
        return add_record(self.ws, "hazard_area", values)

    def evidence(self, hazard: dict[str, Any], kind: str = "direct") -> dict[str, Any]:
        c = hazard["geometry"].centroid
        return add_record(self.ws, "evidence", {"hazard": hazard["uuid"], "kind": kind,
                                                "evidence_source": "observed", "geometry": c})

    def activity(self, hazard: dict[str, Any], activity_type: str, **kw: Any) -> dict[str, Any]:
        return add_record(self.ws, "activity", {"activity_type": activity_type, "hazard": hazard["uuid"], **kw})

    def clearance(self, hazard: dict[str, Any], org: dict[str, Any], *, devices: int = 1, **kw: Any) -> dict[str, Any]:
        values = {"organisation": org["uuid"], "start_date": "2024-03-01", "end_date": "2024-04-01",
                  "depth_cm": 13, "assets": "manual mdd", "devices_found": devices, **kw}
        act = self.activity(hazard, "clearance", **values)
        self.devices(act, hazard, devices)
        return act

    def devices(self, act: dict[str, Any], hazard: dict[str, Any], n: int) -> None:
        c = hazard["geometry"].centroid
        for _ in range(n):
            add_record(self.ws, "device", {"category": "ap_mine", "activity": act["uuid"], "hazard": hazard["uuid"],
                                           "disposal": "destroyed_in_situ", "geometry": c})

    def release(self, act: dict[str, Any], hazard: dict[str, Any], kind: str,
                geometry: shapely.Geometry = WEST_HALF, **kw: Any) -> dict[str, Any]:
        return add_record(self.ws, "released_area", {"activity": act["uuid"], "hazard": hazard["uuid"],
                                                     "kind": kind, "geometry": geometry}, **kw)

    def qc(self, act: dict[str, Any], result: str = "pass", day: str = "2024-04-15") -> dict[str, Any]:
        return add_record(self.ws, "qm_inspection", {"kind": "qc", "activity": act["uuid"], "result": result,
                                                     "inspection_date": day, "geometry": None})


@pytest.fixture
def build(ws: Workspace) -> Builder:
    return Builder(ws)


@pytest.fixture
def any_ws(any_db: str) -> Iterator[Workspace]:
    """The ``ws`` workspace on each backend in turn. A test module runs on both by overriding ``ws`` with it:
    a ``ws`` fixture returning ``any_ws``."""
    workspace = Workspace.open(any_db, user="ana", create=True)
    workspace.set_config(Config(country="COL"))
    yield workspace
    workspace.close()


def refused_unchanged(ws: Workspace, db_path: Path, action: Any) -> SafeGroundError:
    """Close ``ws``, run ``action(workspace)`` on its database again, and return the error it must raise; the
    database must be as before (nothing half-written, not even a run record): a GeoPackage byte for byte, a
    PostGIS database table for table."""
    db = ws.store.location
    ws.close()
    before = db_content(db)
    again = Workspace.open(db, user="ana")
    try:
        with pytest.raises(SafeGroundError) as info:
            action(again)
    finally:
        again.close()
    assert db_content(db) == before
    return info.value


def db_content(db: str) -> Any:
    """The bytes of a GeoPackage file, or the rows of every table of a PostGIS database (sorted, as text)."""
    if not db.startswith("postgresql://"):
        return Path(db).read_bytes()
    import psycopg

    with psycopg.connect(db) as conn:
        tables = [r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = current_schema() "
                                             "AND tablename <> 'spatial_ref_sys' ORDER BY 1")]
        return {t: conn.execute(f'SELECT array_agg(x::text ORDER BY x::text) FROM "{t}" x').fetchone()[0]
                for t in tables}


def utm_m2(geom: shapely.Geometry) -> float:
    """Area in m² measured by geopandas in the geometry's UTM zone: an independent check of the store's areas."""
    import geopandas as gpd

    series = gpd.GeoSeries([geom], crs=4326)
    return float(series.to_crs(series.estimate_utm_crs()).area.iloc[0])


def box(x: float, y: float, w: float, h: float) -> shapely.Polygon:
    """The rectangle with south-west corner (x, y), w degrees wide and h high."""
    return shapely.box(x, y, x + w, y + h)


@pytest.fixture
def areas(ws: Workspace) -> dict[str, dict]:
    """Colombia (Natural Earth's outline) with two departments and a municipality of one of them."""
    col = add_record(ws, "admin_area", {"name": "Colombia", "level": 0, "code": "CO",
                                        "geometry": country_outline("COL")})
    meta = add_record(ws, "admin_area", {"name": "Meta", "level": 1, "code": "CO50", "parent_code": "CO",
                                         "geometry": shapely.box(-73.0, 4.5, -72.0, 5.5)})
    vista = add_record(ws, "admin_area", {"name": "Vistahermosa", "level": 2, "code": "CO50711",
                                          "parent_code": "CO50", "geometry": shapely.box(-72.6, 4.9, -72.4, 5.1)})
    other = add_record(ws, "admin_area", {"name": "Antioquia", "level": 1, "code": "CO05", "parent_code": "CO",
                                          "geometry": shapely.box(-76.0, 6.0, -75.0, 7.0)})
    return {"col": col, "meta": meta, "vista": vista, "other": other}


# --- risk prediction (issue 6): a slice of the RELand grid and the register's Antioquia events (real data) ---
RISK_RELAND = DATA / "reland_antioquia" / "antioquia_train_all.csv"
RISK_REGISTER = DATA / "colombia_aicma" / "events_1990_2014.csv"
#: Five municipalities of the RELand grid, each with both labels (about 1,600 cells).
RISK_MUNICIPIOS = ("COCORNA", "GRANADA", "SAN CARLOS", "SAN LUIS", "SONSON")


def reland_slice(path: Path, municipios: tuple[str, ...] = RISK_MUNICIPIOS, every: int = 1) -> Path:
    """The RELand rows of ``municipios`` (every ``every``-th one), written as CSV to ``path``."""
    with RISK_RELAND.open(encoding="utf-8", newline="") as f, path.open("w", encoding="utf-8", newline="") as out:
        rows = csv.reader(f)
        writer = csv.writer(out)
        header = next(rows)
        writer.writerow(header)
        at = header.index("Municipio")
        kept = [r for r in rows if r[at] in municipios]
        writer.writerows(kept[::every])
    return path


def register_in_antioquia(ws: Workspace, tmp: Path) -> None:
    """Import the register's events in Antioquia department (real rows, official) into ``ws``."""
    sample = tmp / "antioquia_events.csv"
    with RISK_REGISTER.open(encoding="utf-8", newline="") as f, sample.open("w", encoding="utf-8", newline="") as out:
        rows = csv.reader(f)
        writer = csv.writer(out)
        header = next(rows)
        writer.writerow(header)
        at = header.index("departamento")
        writer.writerows(r for r in rows if r[at] == "ANTIOQUIA")
    import_csv(ws, sample, "colombia_aicma")


@pytest.fixture(scope="session")
def reland_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Five RELand municipalities, every third cell (about 550 cells, both labels in each)."""
    return reland_slice(tmp_path_factory.mktemp("reland") / "reland_slice.csv", every=3)


@pytest.fixture(scope="session")
def antioquia_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database holding the register's 5,561 events in Antioquia, 1990-2014 (made once; copy before writing)."""
    tmp = tmp_path_factory.mktemp("antioquia")
    db = tmp / "antioquia.gpkg"
    with Workspace.open(db, user="ana", create=True) as ws:
        ws.set_config(Config(country="COL"))
        register_in_antioquia(ws, tmp)
    return db


@pytest.fixture(scope="session")
def pg_antioquia_db(pg_admin_url: str, pg_template: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """As ``antioquia_db``, a PostGIS database (made once, a template: copy before reading or writing)."""
    name = f"sg_antioquia_{os.getpid()}"
    _pg_admin(pg_admin_url, f"CREATE DATABASE {name} TEMPLATE {pg_template} STRATEGY FILE_COPY")
    try:
        with Workspace.open(_pg_url(pg_admin_url, name), user="ana") as ws:
            ws.set_config(Config(country="COL"))
            register_in_antioquia(ws, tmp_path_factory.mktemp("pg_antioquia"))
        yield _pg_url(pg_admin_url, name)
    finally:
        _pg_admin(pg_admin_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(params=["gpkg", "postgis"])
def antioquia_ws(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Workspace]:
    """A writable copy of the Antioquia register database, on each backend in turn."""
    if request.param == "gpkg":
        copy = copy_db(str(request.getfixturevalue("antioquia_db")), tmp_path, request)
    else:
        request.getfixturevalue("monkeypatch").chdir(tmp_path)
        copy = copy_db(request.getfixturevalue("pg_antioquia_db"), tmp_path, request)
    with Workspace.open(copy, user="ana") as ws:
        yield ws


@pytest.fixture(scope="session")
def pg_small_demo(pg_admin_url: str, pg_template: str,
                  tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """The small demo region (seed 4) built once in a PostGIS database, a template for ``any_small_demo``: its name
    and the folder of its side files (truth, context)."""
    name = f"sg_demo_{os.getpid()}"
    folder = tmp_path_factory.mktemp("pg_demo")
    _pg_admin(pg_admin_url, f"CREATE DATABASE {name} TEMPLATE {pg_template} STRATEGY FILE_COPY")
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.chdir(folder)
            with Workspace.open(_pg_url(pg_admin_url, name), user="x") as ws:
                build_demo(ws, scale="small", seed=4)
        yield name, folder
    finally:
        _pg_admin(pg_admin_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def _copy_side_files(source: Path, target: Path) -> None:
    """Copy the demo's side files named after ``source`` (``<stem>.truth.gpkg``...) to those of ``target``."""
    for suffix in (".truth.gpkg", ".context.gpkg"):
        shutil.copy(source.with_name(source.stem + suffix), target.with_name(target.stem + suffix))


@pytest.fixture(scope="module", params=["gpkg", "postgis"])
def any_small_demo(request: pytest.FixtureRequest, small_demo: tuple[Workspace, Path],
                   tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A writable copy of the small demo (seed 4) for a test module, on each backend in turn, with its side files
    (``truth_path(ws.store.side_path)`` is its ground truth); a server database's side files are in the working
    folder, a folder of the module's own while it lasts."""
    folder = tmp_path_factory.mktemp(f"demo_{request.param}")
    if request.param == "gpkg":
        import sqlite3

        copy = folder / "d.gpkg"
        with sqlite3.connect(small_demo[1]) as src, sqlite3.connect(copy) as dst:  # the demo is open, in WAL mode
            src.backup(dst)
        _copy_side_files(small_demo[1], copy)
        yield str(copy)
        return
    admin_url = request.getfixturevalue("pg_admin_url")
    template, side_folder = request.getfixturevalue("pg_small_demo")
    with pytest.MonkeyPatch.context() as patch, _pg_copy(admin_url, template) as url:
        patch.chdir(folder)
        _copy_side_files(side_folder / f"{template}.gpkg", folder / f"{url.rpartition('/')[2]}.gpkg")
        # the demo's risk.layers names its context file by the template's name, relative to the side folder
        shutil.copy(side_folder / f"{template}.context.gpkg", folder)
        yield url


@pytest.fixture(scope="session")
def small_demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Workspace, Path]]:
    """The small demo region (seed 4), built once for the test session: read it, never change it."""
    path = tmp_path_factory.mktemp("demo") / "d.gpkg"
    ws = Workspace.open(path, user="x", create=True)
    build_demo(ws, scale="small", seed=4)
    yield ws, path
    ws.close()
