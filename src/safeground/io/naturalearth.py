"""Natural Earth 1:110m country outlines, shipped with the package (public domain).

>>> round(country_outline("COL").centroid.x)
-73
>>> country_outline("XXX")
Traceback (most recent call last):
...
safeground.domain.errors.ConfigError: No Natural Earth country with ISO3 code 'XXX'.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any

import shapely

from safeground.domain.errors import ConfigError


@lru_cache(maxsize=1)
def _countries() -> dict[str, Any]:
    text = resources.files("safeground").joinpath("data/naturalearth/ne_110m_countries.geojson").read_text("utf-8")
    return json.loads(text)


def feature_iso3(props: dict[str, Any]) -> str:
    """The ISO3 code of a Natural Earth feature's properties (``''`` when it has none)."""
    for key in ("iso_a3", "ISO_A3", "adm0_a3", "ADM0_A3", "iso_a3_eh", "ISO_A3_EH"):
        v = props.get(key)
        if v and v != "-99":
            return str(v).upper()
    return ""


@lru_cache(maxsize=32)
def country_outline(iso3: str) -> shapely.Geometry:
    """The outline of the country ``iso3`` (WGS84)."""
    for feat in _countries()["features"]:
        if feature_iso3(feat["properties"]) == iso3.upper():
            return shapely.geometry.shape(feat["geometry"])
    raise ConfigError("config.unknown_country", f"No Natural Earth country with ISO3 code '{iso3}'.",
                      hint="Use an ISO 3166-1 alpha-3 code such as COL, UKR or AFG.")


def countries_geojson() -> dict[str, Any]:
    """All country outlines as a GeoJSON FeatureCollection (for offline basemaps)."""
    return _countries()
