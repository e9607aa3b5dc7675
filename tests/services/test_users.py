"""Users and roles: sign-in by password and API token, retirement, area restrictions, the audit trail, and
that no secret ever leaves the store in a readable form."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pyogrio
import pytest
import shapely
from argon2 import PasswordHasher, Type
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.conftest import GPKG_ONLY, HAZARD_BOX, refused_unchanged

from safeground.domain.errors import AuthenticationError, ConflictError, ForbiddenError, SafeGroundError
from safeground.domain.records import LAYERS
from safeground.domain.roles import Role
from safeground.services import credentials
from safeground.services import users as svc
from safeground.services.records import add_record
from safeground.services.transfer import export_layer
from safeground.services.workspace import Workspace


@pytest.fixture
def ws(any_ws: Workspace) -> Workspace:
    """Every test of this module runs on both backends (a GeoPackage file, then PostGIS), but those marked
    GPKG_ONLY, which read the file itself."""
    return any_ws

PASSWORD = "seven mines cleared today"


@pytest.fixture(autouse=True)
def fast_hashing(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """argon2id at its production cost takes most of a second a hash; the cost lives in each hash."""
    monkeypatch.setattr(credentials, "HASHER", credentials.FAST_FOR_TESTS)
    yield


def _code(err: pytest.ExceptionInfo[SafeGroundError]) -> str:
    return err.value.code


passwords = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=10, max_size=80).filter(
    lambda p: p.strip() == p)


@settings(max_examples=40, deadline=None)
@given(passwords, passwords)
def test_password_hash_round_trip(password: str, other: str) -> None:
    hashed = credentials.hash_password(password)
    assert hashed.startswith("$argon2id$") and password not in hashed
    assert credentials.verify_password(hashed, password)
    assert credentials.verify_password(hashed, other) == (other == password)
    assert credentials.hash_password(password) != hashed, "salted: the same password hashes differently"


def test_production_hasher_is_argon2id_rfc9106() -> None:
    prod = credentials.PRODUCTION
    assert (prod.type, prod.time_cost, prod.memory_cost, prod.parallelism) == (Type.ID, 3, 65536, 4)


def test_sign_in_by_password(ws: Workspace) -> None:
    svc.add_user(ws, "Ana.Gomez ", "qa", PASSWORD, display_name="Ana Gómez")
    user = svc.authenticate(ws, "ana.gomez", PASSWORD)
    assert (user.username, user.role, user.display_name, user.areas) == ("ana.gomez", Role.QA, "Ana Gómez", ())
    assert svc.authenticate(ws, "ANA.GOMEZ", PASSWORD).uuid == user.uuid, "usernames ignore case"
    wrong = [lambda: svc.authenticate(ws, "ana.gomez", PASSWORD + "!"),
             lambda: svc.authenticate(ws, "nobody", PASSWORD),
             lambda: svc.authenticate(ws, "Not A Name", PASSWORD)]
    answers = set()
    for attempt in wrong:
        with pytest.raises(AuthenticationError) as info:
            attempt()
        answers.add((info.value.code, info.value.message, info.value.status))
    assert answers == {("auth.bad_credentials", "Wrong username or password.", 401)}, "no hint which part was wrong"


def test_password_rules_refuse_before_anything_is_written(ws: Workspace, db_path: Path) -> None:
    for bad in ("short", " leading space pass", "my name is ana.gomez!"):
        with pytest.raises(SafeGroundError) as info:
            svc.add_user(ws, "ana.gomez", "viewer", bad)
        assert _code(info) == "user.bad_password"
    assert svc.list_users(ws) == []
    svc.add_user(ws, "ana", "viewer", PASSWORD)
    err = refused_unchanged(ws, db_path, lambda w: svc.add_user(w, "ANA", "qa", PASSWORD))
    assert err.code == "user.exists" and err.status == 409


def test_retired_users_cannot_sign_in_and_their_tokens_die(ws: Workspace) -> None:
    svc.add_user(ws, "root", "admin", PASSWORD)
    svc.add_user(ws, "bob", "data_entry", PASSWORD)
    token, _ = svc.create_token(ws, "bob", name="field laptop")
    assert svc.authenticate_token(ws, token).username == "bob"
    retired = svc.retire_user(ws, "bob", reason="left the programme")
    assert not retired.active and retired.retired_reason == "left the programme"
    with pytest.raises(AuthenticationError) as info:
        svc.authenticate(ws, "bob", PASSWORD)
    assert _code(info) == "auth.bad_credentials"
    with pytest.raises(AuthenticationError) as info:
        svc.authenticate_token(ws, token)
    assert _code(info) == "auth.bad_token"
    assert all(t["revoked_at"] for t in svc.list_tokens(ws, "bob"))
    with pytest.raises(ConflictError) as info:
        svc.set_password(ws, "bob", PASSWORD + " again")
    assert _code(info) == "user.retired"
    assert [u.username for u in svc.list_users(ws, include_retired=False)] == ["root"]
    assert svc.get_user(ws, "bob").retired_at is not None, "kept, never deleted"


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.integers(min_value=1, max_value=4), st.data())
def test_tokens_work_until_revoked(ws: Workspace, n: int, data: st.DataObject) -> None:
    name = f"u{len(svc.list_users(ws))}"
    svc.add_user(ws, name, "viewer", None)
    tokens = [svc.create_token(ws, name, name=f"client {i}") for i in range(n)]
    for token, _info in tokens:
        assert svc.authenticate_token(ws, token).username == name
        assert token.startswith("sgt_") and len(token) > 40
    revoked = data.draw(st.sets(st.sampled_from(range(n))))
    for i in revoked:
        svc.revoke_token(ws, tokens[i][1]["uuid"])
    for i, (token, _info) in enumerate(tokens):
        if i in revoked:
            with pytest.raises(AuthenticationError):
                svc.authenticate_token(ws, token)
        else:
            assert svc.authenticate_token(ws, token).username == name
    with pytest.raises(AuthenticationError):
        svc.authenticate_token(ws, tokens[0][0][:-1] + ("A" if tokens[0][0][-1] != "A" else "B"))
    with pytest.raises(AuthenticationError):  # a token-only account has no password
        svc.authenticate(ws, name, "any password at all")


def test_token_use_is_recorded_at_most_once_a_minute(ws: Workspace) -> None:
    svc.add_user(ws, "api", "viewer", None)
    token, info = svc.create_token(ws, "api")
    assert info["last_used_at"] is None
    svc.authenticate_token(ws, token)
    [first] = svc.list_tokens(ws, "api")
    assert first["last_used_at"] is not None
    svc.authenticate_token(ws, token)
    assert svc.list_tokens(ws, "api")[0]["last_used_at"] == first["last_used_at"]


def test_every_change_is_audited_with_the_acting_user_and_no_hash(ws: Workspace) -> None:
    ws.user = "im.officer"
    svc.add_user(ws, "root", "admin", PASSWORD)
    svc.add_user(ws, "ana", "data_entry", PASSWORD)
    svc.set_role(ws, "ana", "qa")
    svc.set_password(ws, "ana", PASSWORD + " and more")
    svc.set_display_name(ws, "ana", "Ana Gómez")
    _, info = svc.create_token(ws, "ana", name="QGIS")
    svc.revoke_token(ws, info["uuid"])
    svc.retire_user(ws, "ana")
    history = svc.user_history(ws, "ana")
    assert [h["op"] for h in history] == ["user_add", "user_role", "user_password", "user_name", "token_create",
                                          "token_revoke", "user_retire"]
    assert {h["actor"] for h in history} == {"im.officer"}
    assert history[1]["before"]["role"] == "data_entry" and history[1]["after"]["role"] == "qa"
    assert history[2]["after"]["password_changed"] is True
    rows = ws.store.connection.execute(  # type: ignore[attr-defined]
        "SELECT before, after FROM safeground_audit WHERE layer = 'safeground_user'").fetchall()
    assert len(rows) == 8
    text = " ".join(str(v) for row in rows for v in row)
    assert "argon2" not in text and "hash" not in text and "sha256" not in text


def test_the_last_admin_stays(ws: Workspace) -> None:
    svc.add_user(ws, "root", "admin", PASSWORD)
    for change in (lambda: svc.retire_user(ws, "root"), lambda: svc.set_role(ws, "root", "qa")):
        with pytest.raises(ConflictError) as info:
            change()
        assert _code(info) == "user.last_admin"
    svc.add_user(ws, "second", "admin", PASSWORD)
    assert svc.set_role(ws, "root", "qa").role is Role.QA


def test_policy_check_for_the_web_layer(ws: Workspace) -> None:
    viewer = svc.add_user(ws, "viewer", "viewer", PASSWORD)
    with pytest.raises(AuthenticationError) as info:
        svc.require(None, "read", "hazard_area")
    assert (_code(info), info.value.status) == ("auth.required", 401)
    assert svc.require(viewer, "read", "hazard_area") is viewer
    with pytest.raises(ForbiddenError) as forbidden:
        svc.require(viewer, "read", "casualty")
    assert (forbidden.value.code, forbidden.value.status) == ("auth.forbidden", 403)
    assert forbidden.value.to_problem()["details"] == {"role": "viewer", "action": "read", "layer": "casualty"}


def test_a_stronger_hasher_upgrades_a_stored_hash_at_sign_in(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    svc.add_user(ws, "ana", "viewer", PASSWORD)
    stronger = PasswordHasher(time_cost=2, memory_cost=16, parallelism=1)
    monkeypatch.setattr(credentials, "HASHER", stronger)
    svc.authenticate(ws, "ana", PASSWORD)
    _, hashed = ws.store.user_credentials("ana")  # type: ignore[misc]
    assert hashed is not None and "m=16,t=2,p=1" in hashed
    assert svc.user_history(ws, "ana")[-1]["op"] == "user_rehash"
    assert svc.authenticate(ws, "ana", PASSWORD).username == "ana"


def test_area_restriction_round_trip(ws: Workspace, db_path: Path, areas: dict[str, dict]) -> None:
    ana = svc.add_user(ws, "ana", "data_entry", PASSWORD, areas=["CO50", " CO05", "CO50"])
    assert ana.areas == ("CO05", "CO50") and ana.restricted
    assert svc.authenticate(ws, "ana", PASSWORD).areas == ("CO05", "CO50")
    scope = svc.area_scope(ws, ana)
    assert scope is not None and scope.codes == {"CO50", "CO50711", "CO05"}, "an area includes its municipalities"
    assert scope.covers(HAZARD_BOX) and scope.covers_code("CO50711") and not scope.covers_code("CO")
    assert not scope.covers(shapely.box(-74.5, 4.0, -74.4, 4.1)), "Bogotá lies outside Meta and Antioquia"
    ana = svc.restrict_areas(ws, "ana", ["CO50711"])
    assert svc.get_user(ws, "ana").areas == ("CO50711",)
    assert svc.area_scope(ws, ana) is not None and svc.area_scope(ws, ana).codes == {"CO50711"}  # type: ignore[union-attr]
    assert svc.area_scope(ws, svc.restrict_areas(ws, "ana", [])) is None, "no areas: the whole country"
    err = refused_unchanged(ws, db_path, lambda w: svc.restrict_areas(w, "ana", ["CO50", "XX99"]))
    assert err.code == "user.unknown_area" and err.details == {"unknown": ["XX99"]}


@GPKG_ONLY
def test_no_secret_leaves_through_exports_or_backups(ws: Workspace, db_path: Path, tmp_path: Path,
                                                     areas: dict[str, dict]) -> None:
    svc.add_user(ws, "root", "admin", PASSWORD, areas=["CO50"])
    token, _ = svc.create_token(ws, "root", name="sync")
    for layer in LAYERS:
        export_layer(ws, layer, tmp_path / f"{layer}.gpkg", include_personal=True, include_retired=True)
    ws.store.backup(str(tmp_path / "backup.gpkg"))
    ws.close()
    secrets = (PASSWORD.encode(), token.encode())
    for path in [db_path, *tmp_path.glob("*.gpkg")]:
        data = path.read_bytes()
        assert not any(s in data for s in secrets), path.name
    for layer in LAYERS:  # the layer exports carry no user table at all
        exported = tmp_path / f"{layer}.gpkg"
        tables = {r[0] for r in sqlite3.connect(exported).execute("SELECT name FROM sqlite_master")}
        assert not any("user" in t or "token" in t for t in tables), layer
    assert "safeground_user" not in {str(n) for n in pyogrio.list_layers(tmp_path / "backup.gpkg")[:, 0]}
    with sqlite3.connect(tmp_path / "backup.gpkg") as conn:  # the backup restores sign-in: hashes only
        [(hashed,)] = conn.execute("SELECT password_hash FROM safeground_user").fetchall()
        [(digest,)] = conn.execute("SELECT token_sha256 FROM safeground_api_token").fetchall()
    assert credentials.verify_password(hashed, PASSWORD) and digest == credentials.token_digest(token)
    restored = Workspace.open(tmp_path / "backup.gpkg", user="x")
    try:
        assert svc.authenticate_token(restored, token).areas == ("CO50",)
    finally:
        restored.close()


def test_a_file_of_schema_7_gains_the_user_tables_and_keeps_its_records(db_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from safeground.store import migrations

    monkeypatch.setattr("safeground.store.gpkg.MIGRATIONS", migrations.MIGRATIONS[:7])
    monkeypatch.setattr("safeground.store.gpkg.SCHEMA_VERSION", 7)
    with Workspace.open(db_path, user="ana", create=True) as old:
        add_record(old, "organisation", {"name": "Demining NGO"})
        assert old.store.schema_version == 7
    monkeypatch.setattr("safeground.store.gpkg.MIGRATIONS", migrations.MIGRATIONS)
    monkeypatch.setattr("safeground.store.gpkg.SCHEMA_VERSION", migrations.SCHEMA_VERSION)
    with Workspace.open(db_path, user="ana") as ws:
        assert ws.store.schema_version == migrations.SCHEMA_VERSION >= 8 and svc.list_users(ws) == []
        assert [o["name"] for o in ws.store.query("organisation")] == ["Demining NGO"]
        svc.add_user(ws, "root", "admin", PASSWORD)
        assert svc.authenticate(ws, "root", PASSWORD).role is Role.ADMIN
        with pytest.raises(sqlite3.DatabaseError, match="never deleted"):
            ws.store.connection.execute("DELETE FROM safeground_user")  # type: ignore[attr-defined]
