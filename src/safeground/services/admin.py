"""Administrative boundaries: import official COD-AB layers with their P-codes, and place records in them.

UN Common Operational Datasets (COD-AB) name their columns ``ADM{n}_PCODE``, ``ADM{n}_EN`` (or ``_ES``,
``_FR``, ...) and ``ADM{n-1}_PCODE``; :func:`import_cod` finds them by that convention.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import shapely

from safeground.domain.errors import ValidationError
from safeground.domain.records import RECORD_TYPES
from safeground.geo.crs import WGS84, check_epsg, reproject
from safeground.io.vector import read_vector
from safeground.services.records import add_records
from safeground.services.workspace import Workspace
from safeground.store.base import Batch


def _column(columns: dict[str, Any], *names: str) -> str | None:
    by_upper = {c.upper(): c for c in columns}
    return next((by_upper[n.upper()] for n in names if n.upper() in by_upper), None)


def import_cod(ws: Workspace, path: str | Path, level: int, *, source_layer: str | None = None,
               epsg: int | None = None) -> int:
    """Import one COD-AB level into ``admin_area``; return the number of areas stored."""
    data = read_vector(Path(path), source_layer)
    code = _column(data.columns, f"ADM{level}_PCODE", "PCODE", "CODE")
    name = _column(data.columns, *(f"ADM{level}_{lang}" for lang in ("EN", "ES", "FR", "PT", "AR", "REF")), "NAME")
    if code is None or name is None or data.geometry is None:
        raise ValidationError("admin.not_cod", f"{Path(path).name} lacks the COD-AB columns ADM{level}_PCODE and "
                              f"ADM{level}_EN (or another language), or has no geometry.",
                              hint="Give the level with --admin-level, or rename the code and name columns.")
    parent = _column(data.columns, f"ADM{level - 1}_PCODE") if level > 0 else None
    geoms = reproject(data.geometry, check_epsg(epsg) if epsg else (data.epsg or WGS84), WGS84)
    n = len(geoms)
    batch = Batch({"name": data.columns[name].tolist(), "level": [level] * n, "code": data.columns[code].tolist(),
                   "parent_code": data.columns[parent].tolist() if parent else [None] * n,
                   "source": [Path(path).name] * n, "source_id": data.columns[code].tolist()}, geoms)
    return len(add_records(ws, "admin_area", batch, review_state="approved").uuids)


def import_boundaries(ws: Workspace, path: str | Path, level: int, *, source_layer: str | None = None,
                      epsg: int | None = None) -> tuple[int, dict[str, int]]:
    """Import one COD-AB level; after level 2 or deeper, place every record in its areas.

    Returns the areas stored and the records placed per layer.
    """
    n = import_cod(ws, path, level, source_layer=source_layer, epsg=epsg)
    return n, (assign_admin_areas(ws) if level >= 2 else {})


def assign_admin_areas(ws: Workspace, *, overwrite: bool = False) -> dict[str, int]:
    """Set ``admin2_code`` of spatial records from the level-2 area holding their centroid.

    Empty ``admin1``/``admin2`` names are filled too; names a source gave are kept as given. Records that
    already have an ``admin2_code`` keep it unless ``overwrite``. Returns records changed per layer.
    """
    areas = {lvl: ws.store.query("admin_area", where={"level": lvl}) for lvl in (1, 2)}
    if not areas[2]:
        raise ValidationError("admin.no_areas", "There are no admin areas of level 2 to assign records to.",
                              hint="Import the boundaries first (safeground import FILE --as admin_area "
                                   "--admin-level 2).")
    trees = {lvl: shapely.STRtree(np.array([a["geometry"] for a in rows], dtype=object))
             for lvl, rows in areas.items() if rows}
    changed: dict[str, int] = {}
    for layer, rt in RECORD_TYPES.items():
        if not (rt.is_spatial and rt.has_field("admin2_code")):
            continue
        where = None if overwrite else {"admin2_code": None}
        records = [r for r in ws.store.query(layer, where=where) if r["geometry"] is not None]
        if not records:
            continue
        pts = shapely.centroid(np.array([r["geometry"] for r in records], dtype=object))
        found: dict[int, dict[int, dict[str, Any]]] = {1: {}, 2: {}}
        for lvl, tree in trees.items():
            rec_idx, area_idx = tree.query(pts, predicate="within")
            for i, j in zip(rec_idx.tolist(), area_idx.tolist(), strict=True):
                found[lvl].setdefault(i, areas[lvl][j])
        hits = sorted(found[2])
        if not hits:
            continue
        ws.store.update_many(layer, [records[i]["uuid"] for i in hits], {
            "admin2_code": [found[2][i]["code"] for i in hits],
            # Names a source gave (a register's municipio) are kept as given; only empty ones are filled.
            "admin2": [records[i]["admin2"] or found[2][i]["name"] for i in hits],
            "admin1": [records[i]["admin1"] or (found[1][i]["name"] if i in found[1] else None) for i in hits],
        }, user=ws.user)
        changed[layer] = len(hits)
    return changed
