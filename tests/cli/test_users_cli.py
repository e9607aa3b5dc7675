"""`safeground users`: passwords only by prompt or stdin, tokens printed once, listings without secrets."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import shapely
from click.testing import CliRunner, Result

from safeground.cli import main
from safeground.domain.config import Config
from safeground.services import credentials
from safeground.services import users as svc
from safeground.services.records import add_record
from safeground.services.workspace import Workspace

PASSWORD = "four unrelated field words"


@pytest.fixture(autouse=True)
def fast_hashing(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(credentials, "HASHER", credentials.FAST_FOR_TESTS)
    yield


@pytest.fixture
def db(any_db: str) -> str:
    """On each backend in turn."""
    path = any_db
    with Workspace.open(path, user="setup", create=True) as ws:
        ws.set_config(Config(country="COL"))
        add_record(ws, "admin_area", {"name": "Meta", "level": 1, "code": "CO50",
                                      "geometry": shapely.box(-73.0, 4.5, -72.0, 5.5)})
    return str(path)


def users(*args: str, db: str, input: str | None = None, code: int = 0) -> Result:
    result = CliRunner().invoke(main, ["users", *args, "--db", db, "--user", "root"], input=input,
                                catch_exceptions=False)
    assert result.exit_code == code, result.output + result.stderr
    return result


def sign_in(db: str, username: str, password: str) -> svc.User:
    with Workspace.open(db, user="x") as ws:
        return svc.authenticate(ws, username, password)


def test_add_with_a_prompt_asked_twice_then_list(db: str) -> None:
    out = users("add", "ana", "--role", "qa", "--name", "Ana Gómez", "--area", "CO50", db=db,
                input=f"{PASSWORD}\n{PASSWORD}\n").output
    assert "Added ana (qa, restricted to CO50)" in out
    assert sign_in(db, "ana", PASSWORD).areas == ("CO50",)
    listing = users("list", db=db).stdout
    assert "ana" in listing and "qa" in listing and "CO50" in listing and "Ana Gómez" in listing
    doc = json.loads(users("list", "--format", "json", db=db).stdout)
    assert doc["count"] == 1 and doc["users"][0]["username"] == "ana" and doc["users"][0]["created_by"] == "root"
    text = json.dumps(doc) + listing
    assert "argon2" not in text and "hash" not in text and PASSWORD not in text


def test_a_mistyped_confirmation_is_asked_again(db: str) -> None:
    out = users("add", "bob", "--role", "viewer", db=db,
                input=f"{PASSWORD}\n{PASSWORD}x\n{PASSWORD}\n{PASSWORD}\n").output
    assert "do not match" in out
    assert sign_in(db, "bob", PASSWORD).username == "bob"


def test_never_a_password_on_the_command_line(db: str) -> None:
    result = CliRunner().invoke(main, ["users", "add", "eve", "--role", "admin", "--password", PASSWORD,
                                       "--db", db])
    assert result.exit_code == 2 and "No such option" in result.output
    assert "--password-stdin" in CliRunner().invoke(main, ["users", "add", "--help"]).output


def test_password_from_stdin_and_refusals(db: str) -> None:
    users("add", "ci", "--role", "data_entry", "--password-stdin", db=db, input=PASSWORD + "\n")
    assert sign_in(db, "ci", PASSWORD).username == "ci"
    err = users("add", "ci", "--role", "qa", "--password-stdin", db=db, input=PASSWORD + "\n", code=1).stderr
    assert err.startswith("Error: user.exists:")
    err = users("add", "dee", "--role", "qa", "--password-stdin", db=db, input="short\n", code=1).stderr
    assert "user.bad_password" in err
    err = users("add", "dee", "--role", "qa", "--area", "XX99", "--password-stdin", db=db, input=PASSWORD + "\n",
                code=1).stderr
    assert "user.unknown_area" in err and "XX99" in err
    problem = json.loads(users("add", "dee", "--role", "qa", "--password-stdin", "--format", "json", db=db,
                               input="short\n", code=1).stderr)
    assert problem["code"] == "user.bad_password" and problem["status"] == 422
    assert [u["username"] for u in json.loads(users("list", "--format", "json", db=db).stdout)["users"]] == ["ci"]


def test_token_is_printed_once_and_works_until_retired(db: str) -> None:
    users("add", "root", "--role", "admin", "--password-stdin", db=db, input=PASSWORD + "\n")
    users("add", "qgis", "--role", "viewer", "--password-stdin", db=db, input=PASSWORD + "\n")
    out = users("token", "qgis", "--name", "QGIS office", db=db).stdout
    token = out.splitlines()[0]
    assert token.startswith("sgt_") and "not shown again" in out
    with Workspace.open(db, user="x") as ws:
        assert svc.authenticate_token(ws, token).username == "qgis"
    listed = users("tokens", "qgis", db=db).stdout + users("tokens", "qgis", "--format", "json", db=db).stdout
    assert token not in listed and "QGIS office" in listed and "sha256" not in listed
    token_id = json.loads(users("tokens", "qgis", "--format", "json", db=db).stdout)["tokens"][0]["uuid"]
    second = users("token", "qgis", "--format", "json", db=db)
    assert json.loads(second.stdout)["token"].startswith("sgt_")
    assert "Revoked" in users("revoke-token", token_id, db=db).stdout
    with Workspace.open(db, user="x") as ws, pytest.raises(svc.AuthenticationError):
        svc.authenticate_token(ws, token)
    assert "Retired qgis" in users("retire", "qgis", "--reason", "laptop stolen", db=db).stdout
    with Workspace.open(db, user="x") as ws, pytest.raises(svc.AuthenticationError):
        svc.authenticate_token(ws, json.loads(second.stdout)["token"])
    assert "user.retired" in users("retire", "qgis", db=db, code=1).stderr
    assert "user.last_admin" in users("retire", "root", db=db, code=1).stderr
    active = json.loads(users("list", "--active", "--format", "json", db=db).stdout)
    assert [u["username"] for u in active["users"]] == ["root"]


def test_set_changes_role_areas_name_and_password_in_one_transaction(db: str) -> None:
    users("add", "ana", "--role", "data_entry", "--password-stdin", db=db, input=PASSWORD + "\n")
    doc = json.loads(users("set", "ana", "--role", "qa", "--area", "CO50", "--name", "Ana", "--format", "json",
                           db=db).stdout)
    assert (doc["role"], doc["areas"], doc["display_name"]) == ("qa", ["CO50"], "Ana")
    users("set", "ana", "--password", db=db, input="a brand new passphrase\na brand new passphrase\n")
    assert sign_in(db, "ana", "a brand new passphrase").areas == ("CO50",)
    assert users("set", "ana", "--all-areas", "--format", "json", db=db).stdout.count('"areas": []') == 1
    # one bad part refuses the lot: the role stays qa
    assert "user.unknown_area" in users("set", "ana", "--role", "viewer", "--area", "XX", db=db, code=1).stderr
    assert sign_in(db, "ana", "a brand new passphrase").role.value == "qa"
    assert users("set", "ana", db=db, code=2).exit_code == 2
