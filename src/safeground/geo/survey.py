"""Coordinates as deminers record them: degrees-minutes-seconds, and perimeters walked from a benchmark.

IMAS survey forms give a benchmark (a fixed, findable point), a reference point measured from it, and
turning points each as a bearing and distance from the previous one. :func:`perimeter` rebuilds the
polygon in the UTM zone of the benchmark and reports how far the walk misses closing.

>>> parse_dms("4°35'46.3\\"N")
4.596194...
>>> parse_dms("W 74 04 36.5")
-74.076805...

The inverse formatting, for documents a team carries (task orders, handover certificates), sits beside
each parser: :func:`format_dms`, :func:`format_mgrs`, and :func:`geodesic_leg` for the bearing and
distance from one turning point to the next.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import mgrs
import numpy as np
import pyproj
import shapely

from safeground.domain.errors import GeometryError, ValidationError
from safeground.geo.crs import WGS84, reproject, utm_epsg

_MGRS = mgrs.MGRS()
_NUMBER = re.compile(r"-?\d+(?:[.,]\d+)?")
_SEPARATORS = set(" \t°º'’′\"”″:")


def parse_dms(text: str) -> float:
    """Decimal degrees from ``4°35'46.3"N``, ``N 4 35 46.3``, ``4:35:46,3 S``, ``4°35.5'N`` or ``-74.0768``."""
    raw = str(text)
    numbers = _NUMBER.findall(raw)
    rest = _NUMBER.sub(" ", raw)
    hemis = [c.upper() for c in rest if c.upper() in "NSEW"]
    others = {c for c in rest if c.upper() not in "NSEW"} - _SEPARATORS
    if not 1 <= len(numbers) <= 3 or len(hemis) > 1 or others:
        raise ValidationError("geometry.bad_dms", f"{text!r} is not a coordinate in degrees, minutes and seconds.",
                              hint='Write it like 4°35\'46.3"N, N 4 35 46.3 or -74.0768.')
    deg, minutes, seconds = (float(n.replace(",", ".")) for n in [*numbers, "0", "0"][:3])
    if minutes >= 60 or seconds >= 60 or (len(numbers) > 1 and deg != int(deg)):
        raise ValidationError("geometry.bad_dms", f"{text!r}: minutes and seconds must be below 60, and only the "
                              "last part may have decimals.", hint="Check the value (4°35.77'N is fine).")
    value = abs(deg) + minutes / 60 + seconds / 3600
    negative = deg < 0 or bool(hemis and hemis[0] in "SW")
    return -value if negative else value


@dataclass(frozen=True)
class Perimeter:
    """A polygon rebuilt from bearings and distances, with its closing error."""

    polygon: shapely.Polygon
    benchmark: shapely.Point
    reference: shapely.Point
    misclosure_m: float
    length_m: float


def perimeter(benchmark: tuple[float, float], to_reference: tuple[float, float],
              legs: list[tuple[float, float]], *, tolerance_m: float = 5.0) -> Perimeter:
    """Walk from ``benchmark`` (lon, lat) by (bearing°, metres) to the reference point, then round the legs.

    The first turning point is the reference point; each leg goes from the previous turning point.
    Bearings are clockwise from grid north of the benchmark's UTM zone. A walk that ends more than
    ``tolerance_m`` from its start is refused (``geometry.perimeter_not_closed``) with the misclosure.
    """
    if len(legs) < 3:
        raise GeometryError("geometry.perimeter_too_short", f"A perimeter needs at least 3 legs; {len(legs)} given.",
                            hint="Give every turning point as a bearing and distance from the previous one.")
    crs = utm_epsg(*benchmark)
    bx, by = reproject(np.array([shapely.Point(benchmark)], dtype=object), WGS84, crs)[0].coords[0]

    def step(x: float, y: float, bearing: float, dist: float) -> tuple[float, float]:
        a = math.radians(bearing)
        return x + dist * math.sin(a), y + dist * math.cos(a)

    x, y = step(bx, by, *to_reference)
    points = [(x, y)]
    for bearing, dist in legs:
        if dist < 0 or not 0 <= bearing <= 360:
            raise GeometryError("geometry.bad_leg", f"Leg ({bearing}°, {dist} m) is not a bearing and a distance.",
                                hint="Bearings run 0-360° clockwise from north; distances are metres, not negative.")
        x, y = step(x, y, bearing, dist)
        points.append((x, y))
    miss = math.dist(points[0], points[-1])
    length = sum(d for _b, d in legs)
    if miss > tolerance_m:
        raise GeometryError("geometry.perimeter_not_closed",
                            f"The perimeter misses closing by {miss:.1f} m over {length:.0f} m of legs "
                            f"(tolerance {tolerance_m:g} m).",
                            hint="Check the bearings and distances against the survey form; a swapped digit or a "
                                 "back-bearing is common.", details={"misclosure_m": miss})
    ring = [*points[:-1], points[0]]
    poly = shapely.Polygon(ring)
    wgs = reproject(np.array([poly, shapely.Point(points[0])], dtype=object), crs, WGS84)
    return Perimeter(wgs[0], shapely.Point(benchmark), wgs[1], miss, length)


def parse_mgrs(text: str) -> tuple[float, float]:
    """(lon, lat) of an MGRS grid reference (the south-west corner of its square, at its precision).

    MGRS is what military maps and many deminers' GPS units show. Spaces are allowed.
    The ``mgrs`` package wraps the NGA's GEOTRANS code (pyproj has no MGRS).

    >>> lon, lat = parse_mgrs("18N VL 05964 09047")
    >>> round(lon, 5), round(lat, 5)
    (-75.84776, 4.60491)
    """
    raw = "".join(str(text).split()).upper()
    try:
        lat, lon = _MGRS.toLatLon(raw)
    except Exception:  # the native library raises its own MGRSError for any malformed reference
        raise ValidationError("geometry.bad_mgrs", f"{text!r} is not an MGRS grid reference.",
                              hint="Write it like 18N VL 05964 09047: zone, band, 100 km square, easting, "
                                   "northing (the same number of digits each).") from None
    return float(lon), float(lat)


_LEG = re.compile(r"^\s*(\d+(?:[.,]\d+)?)\s*[/@ ]\s*(\d+(?:[.,]\d+)?)\s*m?\s*$")

#: Angular units of bearings on survey forms, in degrees per unit (NATO mils: 6400 to the circle).
BEARING_UNITS = {"degrees": 1.0, "mils": 360.0 / 6400.0}


def parse_legs(text: str, *, unit: str = "degrees", declination_deg: float = 0.0) -> list[tuple[float, float]]:
    """Turning points written as ``bearing/distance`` legs separated by ``;``, as (grid bearing°, metres).

    ``declination_deg`` is added to each bearing (magnetic → grid). ``unit`` is ``degrees`` or ``mils``.

    >>> parse_legs("90/100; 180/100; 270/100; 0/100")
    [(90.0, 100.0), (180.0, 100.0), (270.0, 100.0), (0.0, 100.0)]
    >>> parse_legs("1600/50", unit="mils")
    [(90.0, 50.0)]
    """
    factor = BEARING_UNITS[unit]
    legs = []
    for part in filter(None, (p.strip() for p in str(text).split(";"))):
        match = _LEG.match(part)
        if match is None:
            raise ValidationError("geometry.bad_leg", f"Leg {part!r} is not a bearing and a distance.",
                                  hint="Write each turning point as bearing/distance in metres, separated by ';', "
                                       "e.g. 045/120; 135/80.")
        bearing, dist = (float(g.replace(",", ".")) for g in match.groups())
        legs.append(((bearing * factor + declination_deg) % 360.0, dist))
    return legs


_GEOD = pyproj.Geod(ellps="WGS84")
_MGRS_PARTS = re.compile(r"^(\d{0,2}[A-Z])([A-Z]{2})(\d*)$")


def format_dms(value: float, axis: str, *, decimals: int = 2) -> str:
    """Degrees-minutes-seconds with hemisphere, as :func:`parse_dms` reads it back; ``axis`` is lat or lon.

    Rounded once, on the seconds, so 59.999" carries into the next minute instead of printing 60".

    >>> print(format_dms(4.596194, "lat"), format_dms(-74.0768056, "lon"))
    4°35'46.30"N 74°04'36.50"W
    >>> print(format_dms(0.9999999, "lat"))
    1°00'00.00"N
    >>> abs(parse_dms(format_dms(-33.5, "lat")) + 33.5) < 1e-9
    True
    """
    if axis not in ("lat", "lon"):
        raise ValueError(f"axis must be 'lat' or 'lon', not {axis!r}")
    hemi = ("N" if value >= 0 else "S") if axis == "lat" else ("E" if value >= 0 else "W")
    scale = 10 ** decimals
    total = round(abs(value) * 3600 * scale)
    deg, rest = divmod(total, 3600 * scale)
    minutes, sec = divmod(rest, 60 * scale)
    seconds = f"{sec / scale:0{3 + decimals if decimals else 2}.{decimals}f}"
    return f"{deg}°{minutes:02d}'{seconds}\"{hemi}"


def format_mgrs(lon: float, lat: float, *, digits: int = 5) -> str:
    """The MGRS grid reference of (lon, lat), spaced as :func:`parse_mgrs` reads it (``digits`` = 5: 1 m).

    >>> format_mgrs(-75.84776, 4.60491)
    '18N VL 05964 09047'
    >>> format_mgrs(*parse_mgrs("18N VL 05964 09047"))
    '18N VL 05964 09047'
    >>> format_mgrs(0.0, -2.3e-10)  # a hair south of the equator: a reference that reads back
    '31N AA 66021 00000'
    """
    if -1e-5 < lat < 0:
        # GEOTRANS writes a point less than a metre south of the equator as band M, northing 00000, which it then
        # refuses to read back; the equator's own reference (band N) is within that metre.
        lat = 0.0
    raw = _MGRS.toMGRS(lat, lon, MGRSPrecision=digits)
    raw = raw.decode("ascii") if isinstance(raw, bytes) else str(raw)
    m = _MGRS_PARTS.match(raw)
    if m is None:  # pragma: no cover - the library always answers zone, band, square, digits
        return raw
    zone, square, numbers = m.groups()
    half = len(numbers) // 2
    return " ".join(p for p in (zone, square, numbers[:half], numbers[half:]) if p)


def geodesic_leg(start: tuple[float, float], end: tuple[float, float]) -> tuple[float, float]:
    """(bearing°, metres) from ``start`` to ``end`` (lon, lat) on the WGS84 ellipsoid: the true bearing,
    clockwise from true north in [0, 360), and the geodesic distance (pyproj's Geod, Karney's algorithm).

    >>> b, d = geodesic_leg((-72.5, 5.0), (-72.5, 5.01))
    >>> round(b, 6), round(d, 1)
    (0.0, 1105.8)
    """
    fwd, _back, dist = _GEOD.inv(start[0], start[1], end[0], end[1])
    return float(fwd) % 360.0, float(dist)
