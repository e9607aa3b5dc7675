"""Storage backends behind one :class:`~safeground.store.base.Store` interface.

``open_store`` picks the backend from the database argument: a file path opens the embedded
GeoPackage store; ``postgresql://`` URLs are reserved for the PostGIS backend.
"""

from __future__ import annotations

from pathlib import Path

from safeground.domain.errors import StoreError
from safeground.store.base import Store


def open_store(db: str | Path, *, create: bool = False, read_only: bool = False) -> Store:
    """Open the database ``db`` (a GeoPackage path), creating it when ``create`` is true; ``read_only``
    opens it so that nothing can be written (for reports).

    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "x.gpkg")
    >>> with open_store(path, create=True) as store:
    ...     store.count("hazard_area")
    0
    """
    text = str(db)
    if text.startswith(("postgresql://", "postgres://")):
        raise StoreError("store.backend_unavailable", "The PostgreSQL/PostGIS backend is not available yet.",
                         hint="Use a GeoPackage file path for --db.", status=501)
    from safeground.store.gpkg import GeoPackageStore

    return GeoPackageStore.open(Path(text), create=create, read_only=read_only)


__all__ = ["Store", "open_store"]
