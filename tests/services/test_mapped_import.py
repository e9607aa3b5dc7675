"""CSV import through a mapping: the whole Colombia register, quarantine, and broken files that change nothing."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from tests.conftest import DATA, refused_unchanged

from safeground.services.mapped_import import import_csv
from safeground.services.workspace import Workspace


@pytest.fixture
def ws(any_ws: Workspace) -> Workspace:
    """Every test of this module runs on both backends (a GeoPackage file, then PostGIS)."""
    return any_ws

REGISTER = DATA / "colombia_aicma" / "events_1990_2014.csv"


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory):
    from safeground.domain.config import Config

    ws = Workspace.open(tmp_path_factory.mktemp("col") / "col.gpkg", user="im-officer", create=True)
    ws.set_config(Config(country="COL"))
    report = import_csv(ws, REGISTER, "colombia_aicma", chunk=7_000)  # several chunks, one transaction
    yield ws, report
    ws.close()


def test_the_whole_register_is_read_stored_or_quarantined(imported) -> None:
    ws, report = imported
    lines = REGISTER.read_text(encoding="utf-8").splitlines()
    assert report.rows_read == len(lines) - 1 == 30_866
    assert report.rows_read == report.rows_stored + report.rows_quarantined
    assert sum(ws.store.count(layer) for layer in ("accident", "device", "event")) == report.rows_stored
    types = Counter(line.split(",")[2] for line in lines[1:])
    assert report.stored_by_layer["accident"] == types["Accidente por MAP"] + types["Accidente por MUSE"]
    assert ws.store.count("accident", where={"review_state": "approved"}) == report.stored_by_layer["accident"]


def test_the_two_rows_far_outside_colombia_are_quarantined_with_reasons(imported) -> None:
    ws, report = imported
    rows = ws.store.quarantined(import_run=report.import_run)
    assert report.rows_quarantined == len(rows) == 2
    bogota, guapi = sorted(rows, key=lambda r: r["source_row"])
    assert bogota["raw"]["lon"] == "74.23416667" and bogota["raw"]["year"] == "2004"
    assert guapi["raw"]["municipio"] == "GUAPI" and guapi["raw"]["year"] == "2014"
    assert guapi["raw"]["tipo_evento"] == "Incautaciones"
    for r in rows:
        assert r["code"] == "geometry.outside_country" and "km outside" in r["reason"] and r["hint"]


def test_provenance_is_kept(imported) -> None:
    ws, report = imported
    [first] = ws.store.query("accident", where={"source_id": "1"}, geometry=False)
    assert first["source"] == REGISTER.name and first["import_run"] == report.import_run
    assert first["accident_date"] == "1990-12-31" and first["date_precision"] == "year"
    assert first["admin2"] == "NECHÍ" and first["created_by"] == "im-officer"


def _broken(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


HEAD = REGISTER.read_bytes()[:20_000]


@pytest.mark.parametrize(("name", "data", "code"), [
    ("truncated.csv", HEAD[: HEAD.rfind(b",")], "io.malformed_row"),
    ("latin1.csv", REGISTER.read_text(encoding="utf-8")[:20_000].encode("latin-1", "replace"), "io.bad_encoding"),
    ("columns.csv", HEAD.replace(b"municipio", b"municipality", 1), "mapping.absent_column"),
])
def test_broken_files_fail_clearly_and_change_nothing(ws: Workspace, db_path: Path, tmp_path: Path, name: str,
                                                       data: bytes, code: str) -> None:
    path = _broken(tmp_path, name, data)
    err = refused_unchanged(ws, db_path, lambda w: import_csv(w, path, "colombia_aicma", chunk=50))
    assert err.code == code and err.hint


def test_rows_a_mapping_cannot_translate_are_quarantined(ws: Workspace, tmp_path: Path) -> None:
    text = REGISTER.read_text(encoding="utf-8").splitlines()[:4]
    text[2] = text[2].replace(",Rural,", ",Selva,")
    path = _broken(tmp_path, "odd.csv", "\n".join(text).encode())
    report = import_csv(ws, path, "colombia_aicma")
    assert (report.rows_read, report.rows_stored, report.rows_quarantined) == (3, 2, 1)
    [q] = ws.store.quarantined()
    assert q["source_row"] == 2 and "Selva" in q["reason"]


def test_exact_duplicate_rows_are_kept_and_flagged_not_merged(imported) -> None:
    ws, report = imported
    links = ws.store.duplicate_links()
    assert report.exact_duplicates == len(links) == 4_789  # as the data's README says
    assert {(link["kind"], link["status"]) for link in links} == {("exact_source_row", "proposed")}
    a = ws.store.get(links[0]["layer"], links[0]["uuid"])
    b = ws.store.get(links[0]["layer"], links[0]["duplicate_of"])
    assert a["uuid"] != b["uuid"] and int(a["source_id"]) > int(b["source_id"])
    assert {k: v for k, v in a.items() if k not in ("uuid", "ref", "source_id", "created_at", "updated_at")} == \
        {k: v for k, v in b.items() if k not in ("uuid", "ref", "source_id", "created_at", "updated_at")}


def test_reimport_is_idempotent_and_updates_changed_rows(ws: Workspace, tmp_path: Path) -> None:
    lines = REGISTER.read_text(encoding="utf-8").splitlines()
    sample = _broken(tmp_path, "s.csv", "\n".join(lines[:41]).encode())
    first = import_csv(ws, sample, "colombia_aicma")
    counts = {layer: ws.store.count(layer) for layer in ("accident", "device", "event")}
    again = import_csv(ws, sample, "colombia_aicma")
    assert {layer: ws.store.count(layer) for layer in counts} == counts, "no record is added twice"
    assert (again.rows_read, again.rows_stored, again.rows_unchanged, again.rows_updated) == (40, 40, 40, 0)
    assert first.rows_stored == 40 and first.rows_updated == 0
    assert lines[3].startswith("1990,1,Accidente por MAP,ANTIOQUIA,ANZÁ,")  # data row 3
    lines[3] = lines[3].replace(",ANZÁ,", ",ANZÁ (corrected),")
    sample.write_bytes("\n".join(lines[:41]).encode())
    third = import_csv(ws, sample, "colombia_aicma")
    assert (third.rows_updated, third.rows_unchanged) == (1, 39)
    [rec] = ws.store.query("accident", where={"source": "s.csv", "source_id": "3"}, geometry=False)
    assert rec["version"] == 2 and rec["admin2"] == "ANZÁ (corrected)"
