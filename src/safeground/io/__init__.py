"""Formats in and out: GeoJSON, GeoPackage (through pyogrio/GDAL) and the shipped Natural Earth data."""
