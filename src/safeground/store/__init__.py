"""Storage backends behind one :class:`~safeground.store.base.Store` interface.

``open_store`` picks the backend from the database argument: a file path opens the embedded
GeoPackage store; a ``postgresql://`` (or ``postgres://``) URL opens the PostGIS store.
"""

from __future__ import annotations

from pathlib import Path

from safeground.domain.errors import NotFoundError, StoreError
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


def restore_store(backup: str | Path, db: str | Path) -> None:
    """Restore the backup file ``backup`` (a GeoPackage, or a ``pg_dump`` archive, as ``Store.backup`` writes them)
    into ``db``, which must be empty: a new GeoPackage path, or an empty PostgreSQL database's URL."""
    source = Path(backup)
    try:
        with source.open("rb") as f:
            magic = f.read(16)
    except OSError as exc:
        raise NotFoundError("restore.not_found", f"Cannot read the backup {source}: {exc.strerror}.",
                            hint="Give the path of a file written by 'safeground backup'.") from None
    server = str(db).startswith(("postgresql://", "postgres://"))
    kind = "postgis" if magic.startswith(b"PGDMP") else "gpkg" if magic.startswith(b"SQLite format 3") else None
    if kind is None:
        raise StoreError("restore.not_a_backup", f"{source} is neither a GeoPackage nor a pg_dump archive.",
                         hint="Give a file written by 'safeground backup'.", status=422)
    if (kind == "postgis") != server:
        raise StoreError("restore.wrong_backend",
                         f"{source} is a {'pg_dump archive' if kind == 'postgis' else 'GeoPackage'}, "
                         f"and {db} is {'a PostgreSQL database' if server else 'a file'}.",
                         hint="Restore a GeoPackage backup to a .gpkg path and a pg_dump archive to a postgresql:// "
                              "URL; to move records between backends, use 'safeground export' and "
                              "'safeground import'.", status=422)
    if server:
        from safeground.store.postgis import PostGISStore

        PostGISStore.restore(source, str(db))
    else:
        from safeground.store.gpkg import GeoPackageStore

        GeoPackageStore.restore(source, Path(db))


__all__ = ["Store", "is_server", "open_store", "restore_store"]
