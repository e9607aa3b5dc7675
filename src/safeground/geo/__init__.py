"""Geometry and coordinates: validity, measurement in metres, CRS handling. Pure computation on shapely."""
