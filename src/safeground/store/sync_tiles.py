"""Offline basemap tiles for a field copy: an MBTiles file, or a GeoPackage's tile table, copied into the field
copy as the GeoPackage tile pyramid ``basemap`` in Web Mercator (EPSG:3857), which QGIS and QField show as a
raster layer with no connection.

Written with sqlite3 alone: the GeoPackage tile tables are four plain tables and one row per tile (GDAL's raster
side is not in pyogrio, and nothing here needs decoding the images). MBTiles numbers rows from the south (TMS),
a GeoPackage from the north: ``row = 2**zoom - 1 - tms_row``.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from safeground.domain.errors import ValidationError

TABLE = "basemap"
#: Half the side of the Web Mercator square, in metres.
HALF = 20037508.342789244
TILE_PIXELS = 256
MERCATOR_WKT = (
    'PROJCS["WGS 84 / Pseudo-Mercator",GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563,'
    'AUTHORITY["EPSG","7030"]],AUTHORITY["EPSG","6326"]],PRIMEM["Greenwich",0,AUTHORITY["EPSG","8901"]],'
    'UNIT["degree",0.0174532925199433,AUTHORITY["EPSG","9122"]],AUTHORITY["EPSG","4326"]],'
    'PROJECTION["Mercator_1SP"],PARAMETER["central_meridian",0],PARAMETER["scale_factor",1],'
    'PARAMETER["false_easting",0],PARAMETER["false_northing",0],UNIT["metre",1,AUTHORITY["EPSG","9001"]],'
    'AXIS["Easting",EAST],AXIS["Northing",NORTH],EXTENSION["PROJ4","+proj=merc +a=6378137 +b=6378137 '
    '+lat_ts=0 +lon_0=0 +x_0=0 +y_0=0 +k=1 +units=m +nadgrids=@null +wktext +no_defs"],'
    'AUTHORITY["EPSG","3857"]]')


def _bad(path: Path, why: str) -> ValidationError:
    return ValidationError("sync.bad_basemap", f"The basemap tiles file {path} {why}.",
                           hint="Set sync.basemap_tiles to an MBTiles file or a GeoPackage with a tile table in "
                                "Web Mercator, or remove the key.")


def read_tiles(path: Path) -> list[tuple[int, int, int, bytes]]:
    """The tiles of ``path`` as ``(zoom, column, row from the north, bytes)``; ``sync.bad_basemap`` when it is
    neither an MBTiles file nor a GeoPackage with a tile table in EPSG:3857."""
    if not path.is_file():
        raise _bad(path, "does not exist")
    try:
        src = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            tables = {r[0] for r in src.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")}
            if "tiles" in tables and "metadata" in tables:  # MBTiles
                return [(z, x, (1 << z) - 1 - y, bytes(data)) for z, x, y, data in
                        src.execute("SELECT zoom_level, tile_column, tile_row, tile_data FROM tiles ORDER BY 1, 2, 3")]
            if "gpkg_contents" in tables:
                row = src.execute("SELECT c.table_name, s.organization_coordsys_id FROM gpkg_contents c JOIN "
                                  "gpkg_spatial_ref_sys s ON s.srs_id = c.srs_id WHERE c.data_type = 'tiles' "
                                  "ORDER BY c.table_name LIMIT 1").fetchone()
                if row is None:
                    raise _bad(path, "is a GeoPackage without a tile table")
                if int(row[1]) != 3857:
                    raise _bad(path, f"holds tiles in EPSG:{row[1]}, not Web Mercator (EPSG:3857)")
                table = '"' + str(row[0]).replace('"', '""') + '"'
                return [(z, x, y, bytes(data)) for z, x, y, data in src.execute(
                    f"SELECT zoom_level, tile_column, tile_row, tile_data FROM {table} ORDER BY 1, 2, 3")]
        finally:
            src.close()
    except sqlite3.DatabaseError as exc:
        raise _bad(path, f"cannot be read ({exc})") from None
    raise _bad(path, "is neither an MBTiles file nor a GeoPackage")


def write_tiles(conn: sqlite3.Connection, tiles: list[tuple[int, int, int, bytes]]) -> int:
    """Add the tile pyramid ``basemap`` (EPSG:3857, 256-pixel tiles, every zoom level of ``tiles``) to the
    GeoPackage open on ``conn``; return how many tiles."""
    conn.execute("INSERT OR IGNORE INTO gpkg_spatial_ref_sys VALUES ('WGS 84 / Pseudo-Mercator', 3857, 'EPSG', 3857, "
                 "?, 'Web Mercator, for tiles')", (MERCATOR_WKT,))
    conn.execute(f"CREATE TABLE {TABLE} (id INTEGER PRIMARY KEY AUTOINCREMENT, zoom_level INTEGER NOT NULL, "
                 "tile_column INTEGER NOT NULL, tile_row INTEGER NOT NULL, tile_data BLOB NOT NULL, "
                 "UNIQUE (zoom_level, tile_column, tile_row))")
    conn.execute("INSERT INTO gpkg_contents (table_name, data_type, identifier, description, min_x, min_y, max_x, "
                 "max_y, srs_id) VALUES (?, 'tiles', 'Basemap', 'Offline basemap of the field copy', ?, ?, ?, ?, 3857)",
                 (TABLE, -HALF, -HALF, HALF, HALF))
    conn.execute("INSERT INTO gpkg_tile_matrix_set VALUES (?, 3857, ?, ?, ?, ?)", (TABLE, -HALF, -HALF, HALF, HALF))
    for zoom in sorted({t[0] for t in tiles}):
        size = 2 * HALF / (TILE_PIXELS * (1 << zoom))
        conn.execute("INSERT INTO gpkg_tile_matrix VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                     (TABLE, zoom, 1 << zoom, 1 << zoom, TILE_PIXELS, TILE_PIXELS, size, size))
    conn.executemany(f"INSERT INTO {TABLE} (zoom_level, tile_column, tile_row, tile_data) VALUES (?, ?, ?, ?)", tiles)
    return len(tiles)
