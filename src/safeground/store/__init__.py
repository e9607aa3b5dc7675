"""Storage backends behind one :class:`~safeground.store.base.Store` interface.

``open_store`` picks the backend from the database argument: a file path opens the embedded
GeoPackage store; a ``postgresql://`` (or ``postgres://``) URL opens the PostGIS store.
"""

from __future__ import annotations

from pathlib import Path

from safeground.domain.errors import StoreError
from safeground.store.base import Store


def is_server(db: str | Path) -> bool:
    """Whether ``db`` names a server database (a PostgreSQL URL) rather than a GeoPackage file.

    >>> is_server("postgresql://ana@db.example.org/safeground"), is_server("demo.gpkg")
    (True, False)
    """
    return str(db).startswith(("postgresql://", "postgres://"))


def open_store(db: str | Path, *, create: bool = False, read_only: bool = False) -> Store:
    """Open the database ``db`` (a GeoPackage path or a PostgreSQL URL), creating it (a new GeoPackage, or the
    schema in an empty PostgreSQL database) when ``create`` is true; ``read_only`` opens it so that nothing can be
    written (for reports).

    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "x.gpkg")
    >>> with open_store(path, create=True) as store:
    ...     store.count("hazard_area")
    0
    """
    text = str(db)
    if is_server(text):
        try:
            from safeground.store.postgis import PostGISStore
        except ImportError:  # pragma: no cover - psycopg is a dependency; only a broken installation lacks it
            raise StoreError("store.backend_unavailable", "The PostgreSQL driver (psycopg 3) is not installed.",
                             hint="Install SafeGround with its dependencies (pip install safeground).",
                             status=501) from None
        return PostGISStore.open(text, create=create, read_only=read_only)
    from safeground.store.gpkg import GeoPackageStore

    return GeoPackageStore.open(Path(text), create=create, read_only=read_only)


__all__ = ["Store", "is_server", "open_store"]
