"""``--db postgresql://...``: the same commands give the same answers as on a GeoPackage file."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from tests.conftest import DATA

from safeground.cli import main
from safeground.domain.errors import StoreError
from safeground.store import open_store


def run(*args: str, ok: bool = True):
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    if ok:
        assert result.exit_code == 0, result.output + result.stderr
    return result


@pytest.fixture(scope="module")
def register_slice(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every tenth event of the real Colombia register (about 3,000 rows, a few duplicates and bad rows)."""
    path = tmp_path_factory.mktemp("register") / "events.csv"
    with (DATA / "colombia_aicma" / "events_1990_2014.csv").open(encoding="utf-8", newline="") as f, \
            path.open("w", encoding="utf-8", newline="") as out:
        rows = list(csv.reader(f))
        csv.writer(out).writerows([rows[0], *rows[1::10]])
    return path


def _answers(db: str, register: Path) -> list[dict]:
    run("init", "--db", db, "--country", "COL")
    run("import", str(register), "--mapping", "colombia_aicma", "--db", db)
    docs = []
    for command in (["stats"], ["stats", "events", "--by", "year", "--by", "adm1"], ["stats", "casualties"],
                    ["check"], ["duplicates", "list"]):
        doc = json.loads(run(*command, "--db", db, "--format", "json").stdout)
        docs.append(_without(doc, {"database", "generated_at", "uuid", "duplicate_of", "import_run", "created_at",
                                   "seconds"}))
    return docs


def _without(doc: object, keys: set[str]) -> object:
    """``doc`` without the keys that differ between two runs by nature (uuids, times, the database's name)."""
    if isinstance(doc, dict):
        return {k: _without(v, keys) for k, v in doc.items() if k not in keys}
    if isinstance(doc, list):
        return [_without(v, keys) for v in doc]
    return doc


def test_import_stats_and_checks_answer_the_same_on_both_backends(pg_empty_url: str, register_slice: Path,
                                                                   tmp_path: Path) -> None:
    gpkg = _answers(str(tmp_path / "c.gpkg"), register_slice)
    pg = _answers(pg_empty_url, register_slice)
    assert gpkg == pg
    assert gpkg[0]["layers"]["event"]["records"] > 0


def test_backup_of_a_server_database_is_a_pg_dump_archive(pg_url: str, tmp_path: Path) -> None:
    run("init", "--db", pg_url, "--country", "COL")
    target = tmp_path / "b.dump"
    doc = json.loads(run("backup", "--db", pg_url, "--to", str(target), "--format", "json").stdout)
    assert doc["bytes"] == target.stat().st_size > 0
    assert target.read_bytes()[:5] == b"PGDMP"  # pg_restore's custom format
    again = run("backup", "--db", pg_url, "--to", str(target), ok=False)
    assert again.exit_code == 1 and "backup.target_exists" in again.stderr


def test_a_wrong_url_says_what_to_check(pg_admin_url: str) -> None:
    url = pg_admin_url.rpartition("/")[0] + "/no_such_db"
    res = run("stats", "--db", url, ok=False)
    assert res.exit_code == 1 and "store.connection_failed" in res.stderr and "Hint:" in res.stderr
    with pytest.raises(StoreError, match='database "no_such_db" does not exist') as info:
        open_store(url)
    assert info.value.code == "store.connection_failed"
