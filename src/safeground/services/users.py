"""Users and roles: accounts, passwords, API tokens, area restrictions, sign-in and the policy check.

Pure functions over the workspace, for the CLI and the web app alike. Every change is audited with the
workspace's acting user (``ws.user``); nothing is deleted: users are retired (their tokens revoked with
them) and tokens revoked. Secrets are shown once and kept only as hashes (see
:mod:`safeground.services.credentials`). The policy itself is :func:`safeground.domain.roles.can`.

>>> import tempfile, os
>>> from safeground.services import credentials
>>> saved, credentials.HASHER = credentials.HASHER, credentials.FAST_FOR_TESTS  # doctest speed only
>>> ws = Workspace.open(os.path.join(tempfile.mkdtemp(), "u.gpkg"), user="admin", create=True)
>>> ana = add_user(ws, "ana", "qa", "a long passphrase", display_name="Ana Gómez")
>>> authenticate(ws, "ana", "a long passphrase").role
<Role.QA: 'qa'>
>>> token, info = create_token(ws, "ana", name="QGIS")
>>> authenticate_token(ws, token).username
'ana'
>>> can(ana, "read_personal", "casualty"), can(ana, "manage_users")
(True, False)
>>> ws.close(); credentials.HASHER = saved
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import shapely

from safeground.domain.errors import AuthenticationError, ConflictError, ForbiddenError, NotFoundError, ValidationError
from safeground.domain.roles import Role, parse_role
from safeground.domain.timestamps import now_iso
from safeground.domain.users import User, check_username
from safeground.services import credentials
from safeground.services.workspace import Workspace
from safeground.store.base import Record

#: ``last_used_at`` of a token is written at most this often (a busy API client would otherwise write on
#: every request).
TOKEN_TOUCH_SECONDS = 60


def _user(row: Record) -> User:
    return User(uuid=row["uuid"], username=row["username"], display_name=row["display_name"],
                role=Role(row["role"]), areas=tuple(row["areas"]), created_at=row["created_at"],
                created_by=row["created_by"], retired_at=row["retired_at"], retired_reason=row["retired_reason"])


def _name(username: str) -> str:
    return check_username((username or "").strip().lower())


def _row(ws: Workspace, username: str) -> Record:
    rows = ws.store.users(username=_name(username))
    if not rows:
        raise NotFoundError("user.not_found", f"No user named {username!r}.",
                            hint="List users with 'safeground users list'; add one with 'safeground users add'.")
    return rows[0]


def _active_row(ws: Workspace, username: str) -> Record:
    row = _row(ws, username)
    if row["retired_at"] is not None:
        raise ConflictError("user.retired", f"User {row['username']!r} was retired on {row['retired_at'][:10]}.",
                            hint="A retired user stays retired; add a new user with another name.")
    return row


def _check_areas(ws: Workspace, codes: Iterable[str]) -> list[str]:
    wanted = sorted({c.strip() for c in codes if c and c.strip()})
    if not wanted:
        return []
    known = {r["code"] for r in ws.store.query("admin_area", where={"code": wanted}, geometry=False,
                                               fields=["code"])}
    unknown = [c for c in wanted if c not in known]
    if unknown:
        raise ValidationError("user.unknown_area", f"No admin area with code {', '.join(unknown)}.",
                              hint="Give codes of stored admin areas (P-codes, 'safeground export --layer "
                                   "admin_area'); import the boundaries first if there are none.",
                              details={"unknown": unknown})
    return wanted


def _other_active_admins(ws: Workspace, uuid: str) -> int:
    return sum(1 for r in ws.store.users() if r["role"] == Role.ADMIN and r["retired_at"] is None
               and r["uuid"] != uuid)


def _keep_an_admin(ws: Workspace, row: Record, what: str) -> None:
    if row["role"] == Role.ADMIN and row["retired_at"] is None and _other_active_admins(ws, row["uuid"]) == 0:
        raise ConflictError("user.last_admin", f"{row['username']!r} is the last active admin; {what} would leave "
                            "nobody to manage users.", hint="Add another admin first.")


# --- accounts ---------------------------------------------------------------------------------------------
def add_user(ws: Workspace, username: str, role: Role | str, password: str | None, *,
             display_name: str | None = None, areas: Sequence[str] = ()) -> User:
    """Add a user; ``password`` None makes an account that signs in only with API tokens."""
    name = _name(username)
    role = parse_role(role) if isinstance(role, str) else role
    if password is not None:
        credentials.check_password(password, name)
    codes = _check_areas(ws, areas)
    hashed = credentials.hash_password(password) if password is not None else None
    row = ws.store.add_user({"username": name, "display_name": (display_name or "").strip() or None,
                             "role": role.value, "password_hash": hashed, "areas": codes}, user=ws.user)
    return _user(row)


def get_user(ws: Workspace, username: str) -> User:
    """One user by username, retired or not; ``user.not_found`` otherwise."""
    return _user(_row(ws, username))


def list_users(ws: Workspace, *, include_retired: bool = True) -> list[User]:
    """Users by username (never a hash)."""
    return [_user(r) for r in ws.store.users() if include_retired or r["retired_at"] is None]


def retire_user(ws: Workspace, username: str, *, reason: str | None = None) -> User:
    """Retire a user (never deleted: the audit log keeps naming them) and revoke their tokens."""
    with ws.store.transaction():  # the check and the write together: two admins cannot retire each other
        row = _active_row(ws, username)
        _keep_an_admin(ws, row, "retiring them")
        tokens = [t["uuid"] for t in ws.store.api_tokens(user_uuid=row["uuid"]) if t["revoked_at"] is None]
        ws.store.revoke_api_tokens(tokens, user=ws.user)
        after = ws.store.update_user(row["uuid"], {"retired_at": now_iso(), "retired_reason": reason},
                                     user=ws.user, op="user_retire")
    return _user(after)


def set_password(ws: Workspace, username: str, password: str) -> User:
    """Replace a user's password."""
    row = _active_row(ws, username)
    credentials.check_password(password, row["username"])
    after = ws.store.update_user(row["uuid"], {"password_hash": credentials.hash_password(password)},
                                 user=ws.user, op="user_password")
    return _user(after)


def set_role(ws: Workspace, username: str, role: Role | str) -> User:
    """Change a user's role; the last active admin keeps theirs."""
    role = parse_role(role) if isinstance(role, str) else role
    with ws.store.transaction():
        row = _active_row(ws, username)
        if role is not Role.ADMIN:
            _keep_an_admin(ws, row, "changing their role")
        return _user(ws.store.update_user(row["uuid"], {"role": role.value}, user=ws.user, op="user_role"))


def set_display_name(ws: Workspace, username: str, display_name: str | None) -> User:
    """Change the name shown for a user."""
    row = _active_row(ws, username)
    return _user(ws.store.update_user(row["uuid"], {"display_name": (display_name or "").strip() or None},
                                      user=ws.user, op="user_name"))


def restrict_areas(ws: Workspace, username: str, codes: Sequence[str]) -> User:
    """Limit a user to these admin areas (their codes; none: the whole country)."""
    row = _active_row(ws, username)
    return _user(ws.store.update_user(row["uuid"], {"areas": _check_areas(ws, codes)}, user=ws.user,
                                      op="user_areas"))


def user_history(ws: Workspace, username: str) -> list[Record]:
    """The audited changes to a user's account, oldest first (never a hash)."""
    return list(ws.store.user_changes(_row(ws, username)["uuid"]))


# --- API tokens -------------------------------------------------------------------------------------------
def create_token(ws: Workspace, username: str, *, name: str | None = None) -> tuple[str, Record]:
    """A new API token for a user: the token (show it once; only its SHA-256 is kept) and its record."""
    row = _active_row(ws, username)
    token = credentials.new_token()
    info = ws.store.add_api_token({"user_uuid": row["uuid"], "name": (name or "").strip() or None,
                                   "token_sha256": credentials.token_digest(token)}, user=ws.user)
    return token, info


def list_tokens(ws: Workspace, username: str) -> list[Record]:
    """A user's tokens, revoked ones included: id, name, created, last used, revoked (never the token)."""
    return ws.store.api_tokens(user_uuid=_row(ws, username)["uuid"])


def revoke_token(ws: Workspace, token_id: str) -> Record:
    """Revoke one token by its id (as :func:`list_tokens` shows it)."""
    return ws.store.revoke_api_tokens([token_id], user=ws.user)[0]


def sign_in(ws: Workspace, username: str, password: str, *, name: str = "web sign-in") -> tuple[str, User]:
    """Check a password and hand out a new API token for the session (the web map signs in this way)."""
    user = authenticate(ws, username, password)
    token, _ = create_token(ws, user.username, name=name)
    return token, user


def sign_out(ws: Workspace, token: str) -> None:
    """Revoke the API token itself (the web map's sign-out); an unknown token is ``auth.bad_token``."""
    found = ws.store.api_tokens(token_sha256=credentials.token_digest(token or ""))
    if not found or found[0]["revoked_at"] is not None:
        raise AuthenticationError("auth.bad_token", "This API token is unknown or revoked.",
                                  hint="Nothing to sign out of: sign in again for a new token.")
    ws.store.revoke_api_tokens([found[0]["uuid"]], user=ws.user)


# --- signing in -------------------------------------------------------------------------------------------
def _bad_credentials() -> AuthenticationError:
    return AuthenticationError("auth.bad_credentials", "Wrong username or password.",
                               hint="Check both; an administrator can set a new password with 'safeground users "
                                    "set USERNAME --password'.")


def authenticate(ws: Workspace, username: str, password: str) -> User:
    """The active user with this username and password; ``auth.bad_credentials`` otherwise (the same answer,
    at the same cost, for an unknown, retired or password-less user)."""
    try:
        name = _name(username)
    except ValidationError:
        name = ""
    found = ws.store.user_credentials(name) if name else None
    row, hashed = found if found else (None, None)
    ok = credentials.verify_password(hashed, password)
    if row is None or not ok or row["retired_at"] is not None:
        raise _bad_credentials()
    if hashed and not ws.store.read_only and credentials.needs_rehash(hashed):
        ws.store.update_user(row["uuid"], {"password_hash": credentials.hash_password(password)},
                             user=row["username"], op="user_rehash")
    return _user(row)


def authenticate_token(ws: Workspace, token: str) -> User:
    """The active user an API token belongs to; ``auth.bad_token`` for an unknown or revoked token, or one
    of a retired user."""
    found = ws.store.api_tokens(token_sha256=credentials.token_digest(token or ""))
    info = found[0] if found else None
    rows = ws.store.users(uuid=info["user_uuid"]) if info else []
    if info is None or info["revoked_at"] is not None or not rows or rows[0]["retired_at"] is not None:
        raise AuthenticationError("auth.bad_token", "This API token is unknown or revoked.",
                                  hint="Ask an administrator for a new one ('safeground users token USERNAME').")
    now = dt.datetime.now(dt.UTC)
    last = info["last_used_at"]
    if not ws.store.read_only and (
            last is None or (now - dt.datetime.fromisoformat(last)).total_seconds() >= TOKEN_TOUCH_SECONDS):
        ws.store.touch_api_token(info["uuid"], now_iso())
    return _user(rows[0])


# --- the policy -------------------------------------------------------------------------------------------
def can(user: User | None, action: str, layer: str | None = None, *, review_state: str | None = None) -> bool:
    """Whether ``user`` may do ``action`` on ``layer``; nobody signed in (None) may do nothing here (the public
    view has its own service)."""
    return user is not None and user.can(action, layer, review_state=review_state)


def require(user: User | None, action: str, layer: str | None = None, *, review_state: str | None = None) -> User:
    """``user`` if :func:`can` allows the action; ``auth.required`` (401) or ``auth.forbidden`` (403) otherwise."""
    if user is None:
        raise AuthenticationError("auth.required", "Sign in first.",
                                  hint="Sign in with a username and password, or send an API token.")
    if not can(user, action, layer, review_state=review_state):
        where = f" on {layer}" if layer else ""
        state = f" ({review_state} records)" if review_state else ""
        raise ForbiddenError("auth.forbidden", f"The {user.role.value} role may not {action}{where}{state}.",
                             hint="Ask an administrator for a role that allows it.",
                             details={"role": user.role.value, "action": action, "layer": layer})
    return user


@dataclass(frozen=True)
class AreaScope:
    """Where a restricted user may work: the admin area codes (the named areas and everything below them)
    and their outline (WGS84), for records that carry only a geometry."""

    codes: frozenset[str]
    outline: shapely.Geometry | None

    def covers_code(self, code: str | None) -> bool:
        return code is not None and code in self.codes

    def covers(self, geometry: shapely.Geometry | None) -> bool:
        return geometry is not None and self.outline is not None and bool(self.outline.intersects(geometry))


def area_scope(ws: Workspace, user: User) -> AreaScope | None:
    """The user's area scope; ``None`` for the whole country (no restriction)."""
    if not user.areas:
        return None
    return admin_scope(ws, user.areas)


def admin_scope(ws: Workspace, codes: Sequence[str]) -> AreaScope:
    """The scope of the admin areas ``codes``: those codes and every sub-area's, and their outline."""
    areas = ws.store.query("admin_area", geometry=False, fields=["code", "parent_code"])
    children: dict[str, list[str]] = {}
    for a in areas:
        if a["parent_code"]:
            children.setdefault(a["parent_code"], []).append(a["code"])
    found: set[str] = set()
    todo = list(codes)
    while todo:
        code = todo.pop()
        if code not in found:
            found.add(code)
            todo.extend(children.get(code, ()))
    named = [a["geometry"] for a in ws.store.query("admin_area", where={"code": list(codes)}, fields=["code"])
             if a["geometry"] is not None]
    return AreaScope(frozenset(found), shapely.union_all(named) if named else None)
