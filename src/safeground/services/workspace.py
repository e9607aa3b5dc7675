"""A workspace: the store, the acting user and the configuration, as one object passed to use cases.

>>> import tempfile, os
>>> ws = Workspace.open(os.path.join(tempfile.mkdtemp(), "w.gpkg"), user="ana", create=True)
>>> ws.config.geometry.repair
False
>>> ws.close()
"""

from __future__ import annotations

import getpass
import os
from functools import cached_property
from pathlib import Path

import shapely
import yaml

from safeground.domain.config import Config, parse_config
from safeground.domain.errors import ConfigError
from safeground.geo.crs import utm_epsg
from safeground.io.naturalearth import country_outline
from safeground.store import Store, is_server, open_store
from safeground.store.pool import StorePool


def acting_user(explicit: str | None = None) -> str:
    """``--user``, else SAFEGROUND_USER, else the operating-system login."""
    if explicit:
        return explicit
    env = os.environ.get("SAFEGROUND_USER")
    if env:
        return env
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def database_present(db: str | Path) -> bool:
    """Whether ``db`` may be opened without creating it: a server URL (its server says), or an existing file.

    >>> database_present("postgresql://ana@db.example.org/safeground"), database_present("no/such.gpkg")
    (True, False)
    """
    return is_server(db) or Path(db).exists()


class Workspace:
    """What every use case needs: where the data is, who is acting, and the configuration."""

    def __init__(self, store: Store, user: str) -> None:
        self.store = store
        self.user = user

    @classmethod
    def open(cls, db: str | Path, *, user: str | None = None, create: bool = False,
             read_only: bool = False) -> Workspace:
        """Open ``db``; ``read_only`` guarantees nothing is written to it (reports)."""
        return cls(open_store(db, create=create, read_only=read_only), acting_user(user))

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @cached_property
    def config(self) -> Config:
        text = self.store.read_config_text()
        if not text:
            return parse_config({})
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise ConfigError("config.bad_yaml", f"The stored configuration is not valid YAML: {exc}.",
                              hint="Set it again with 'safeground init --config FILE.yaml'.") from None
        return parse_config(data)

    def set_config(self, config: Config) -> None:
        text = yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False, allow_unicode=True)
        self.store.write_config_text(text, self.user)
        self.__dict__.pop("config", None)
        self.__dict__.pop("outline", None)

    @cached_property
    def outline(self) -> shapely.Geometry | None:
        """The national outline: the admin_area of level 0 if any, else the configured Natural Earth country."""
        rows = self.store.query("admin_area", where={"level": 0})
        if rows:
            return shapely.union_all([r["geometry"] for r in rows])
        if self.config.country:
            return country_outline(self.config.country)
        return None

    @property
    def national_crs(self) -> int | None:
        """The configured projected CRS, else the UTM zone of the national outline's centroid."""
        if self.config.national_crs:
            return self.config.national_crs
        if self.outline is None:
            return None
        c = self.outline.centroid
        return utm_epsg(c.x, c.y)


class WorkspacePool:
    """Workspaces on one database for a server's threads (``safeground serve``): a PostgreSQL database lends a
    pooled connection to each (at most the configuration's ``server.max_connections``, waiting at most
    ``server.pool_timeout_s``), given back when the workspace is closed; a GeoPackage file is opened anew each time.

    Opening it migrates the database once (unless ``read_only``) and reads the configuration.

    >>> import tempfile, os
    >>> db = os.path.join(tempfile.mkdtemp(), "w.gpkg")
    >>> pool = WorkspacePool(db, create=True)
    >>> with pool.open(user="ana") as ws:
    ...     ws.user, ws.store.count("hazard_area")
    ('ana', 0)
    >>> pool.close()
    """

    def __init__(self, db: str | Path, *, read_only: bool = False, create: bool = False) -> None:
        with Workspace.open(db, user="anonymous", read_only=read_only, create=create) as first:
            server = first.config.server
            #: where files kept beside the database go (tile caches)
            self.side_path = first.store.side_path
        self.db = str(db)
        self.read_only = read_only
        self._stores = StorePool(db, read_only=read_only, max_connections=server.max_connections,
                                 timeout_s=server.pool_timeout_s)

    def open(self, *, user: str | None = None) -> Workspace:
        """A workspace acting as ``user``; close it to give its connection back."""
        return Workspace(self._stores.open(), acting_user(user))

    def close(self) -> None:
        """Close the pooled connections."""
        self._stores.close()
