"""The shapes the records API reads and writes, as pydantic declarations (the OpenAPI document is made from them).

A record's fields differ by layer (``GET /api/layers/{layer}`` lists them), so a record is an open object: its
metadata (``uuid``, ``ref``, ``version``, ``review_state``) declared, its own fields beside them, and its
geometry as a GeoJSON geometry (WGS84 longitude, latitude). Writes have their own shapes: a new record
(:class:`RecordCreate`), a change that names the version it was based on (:class:`RecordUpdate`: a stale
version is refused, never overwritten) and a review step (:class:`ReviewStep`).

>>> import shapely
>>> record_document({"ref": "HA-000001", "geometry": shapely.Point(-72.5, 5.0)})["geometry"]
{'type': 'Point', 'coordinates': [-72.5, 5.0]}
>>> geometry_from_geojson({"type": "Point", "coordinates": [-72.5, 5.0]}).wkt
'POINT (-72.5 5)'
>>> geometry_from_geojson({"type": "Polygon", "coordinates": [[[0, 0], [1, 1]]]})
Traceback (most recent call last):
...
safeground.domain.errors.GeometryError: The Polygon cannot be read as GeoJSON: A linearring requires at least 4 coordinates.
"""  # noqa: E501

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import Any, Literal

import shapely
import shapely.geometry
from pydantic import BaseModel, ConfigDict, Field

from safeground.domain.errors import GeometryError
from safeground.store.base import Record

#: GeoJSON geometry types (RFC 7946 §3.1) a record's geometry may be given as.
GEOJSON_TYPES = ("Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon",
                 "GeometryCollection")


# --- conversions ------------------------------------------------------------------------------------------
def geometry_from_geojson(value: Any) -> shapely.Geometry | None:
    """A GeoJSON geometry (or ``None``) as a shapely geometry; ``geometry.bad_geojson`` (422) when it is not one.

    Whether the geometry suits the layer, is valid and lies in the country is the records service's check."""
    if value is None:
        return None
    kind = value.get("type") if isinstance(value, Mapping) else None
    if kind not in GEOJSON_TYPES:
        raise GeometryError("geometry.bad_geojson", f"The geometry is not a GeoJSON geometry (type {kind!r}).",
                            hint="Give a GeoJSON geometry such as {\"type\": \"Point\", \"coordinates\": [lon, lat]}, "
                                 "in WGS84 longitude, latitude.")
    try:
        return shapely.geometry.shape(value)
    except (ValueError, TypeError, AttributeError, IndexError, KeyError, shapely.errors.GEOSException) as exc:
        raise GeometryError("geometry.bad_geojson", f"The {kind} cannot be read as GeoJSON: {str(exc).rstrip('.')}.",
                            hint="Give coordinates as [longitude, latitude] positions; a polygon's rings are closed "
                                 "and have at least 4 positions.") from None


def _plain(value: Any) -> Any:
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    return value


def record_document(record: Record) -> dict[str, Any]:
    """A stored record as JSON: its fields as they are, dates as ISO strings, ``geometry`` as GeoJSON."""
    doc = {k: _plain(v) for k, v in record.items() if k != "geometry"}
    if "geometry" in record:
        geom = record["geometry"]
        doc["geometry"] = json.loads(shapely.to_geojson(geom)) if geom is not None else None
    return doc


# --- answers ----------------------------------------------------------------------------------------------
class RecordOut(BaseModel):
    """One record: metadata, the layer's own fields (those the reader may see) and its GeoJSON geometry."""

    model_config = ConfigDict(extra="allow")

    uuid: str
    ref: str
    version: int = Field(description="Send it back with a change: a stale version is refused (409).")
    review_state: str = Field(description="submitted, approved or published (the review workflow).")
    geometry: dict[str, Any] | None = Field(None, description="GeoJSON geometry, WGS84; absent for layers "
                                                              "without geometry.")


class RecordPage(BaseModel):
    """One page of records, the number that match, and the URL of the next page (``null`` on the last)."""

    records: list[RecordOut]
    total: int
    limit: int
    offset: int
    next: str | None


class HistoryEntry(BaseModel):
    """One audited change: when, who, what, and the fields it changed with their values before and after."""

    model_config = ConfigDict(extra="allow")

    seq: int
    at: str
    actor: str | None
    op: str
    version: int | None
    changed: list[str]
    before: dict[str, Any]
    after: dict[str, Any]


class RecordHistory(BaseModel):
    """A record's audited changes, oldest first."""

    layer: str
    ref: str
    uuid: str
    history: list[HistoryEntry]


class AttachmentOut(BaseModel):
    """An attachment's description (the bytes are at ``href``)."""

    uuid: str
    name: str
    content_type: str
    size: int
    sha256: str
    personal: bool = Field(description="Attached to a record about a person, or marked so: shown only to roles "
                                       "that read personal fields.")
    created_at: str
    created_by: str | None
    href: str


class AttachmentList(BaseModel):
    """A record's attachments (those the reader may see)."""

    ref: str
    attachments: list[AttachmentOut]


# --- requests ---------------------------------------------------------------------------------------------
class RecordCreate(BaseModel):
    """A new record: the layer's fields by name, and its geometry as GeoJSON (WGS84). It is stored as
    *submitted*; ``ref``, ``uuid``, ``version`` and the other managed fields are SafeGround's."""

    model_config = ConfigDict(extra="allow", json_schema_extra={"examples": [
        {"name": "La Esperanza", "hazard_class": "cha", "status": "open",
         "geometry": {"type": "Polygon", "coordinates": [[[-72.5, 5.0], [-72.49, 5.0], [-72.49, 5.01],
                                                          [-72.5, 5.01], [-72.5, 5.0]]]}}]})

    geometry: dict[str, Any] | None = None

    def values(self) -> dict[str, Any]:
        """The fields with ``geometry`` as a shapely geometry, ready for the records service."""
        values = dict(self.model_extra or {})
        if "geometry" in self.model_fields_set:
            values["geometry"] = geometry_from_geojson(self.geometry)
        return values


class RecordUpdate(BaseModel):
    """A change to a record, based on the ``version`` the client read (required: a stale one is refused with
    409 ``store.version_conflict``, so nobody overwrites a colleague's work unseen)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"version": 3, "changes": {"status": "worked_on", "marking": "fenced"}}]})

    version: int = Field(ge=1, description="The version the change is based on.")
    changes: dict[str, Any] = Field(min_length=1, description="Fields to set, by name; ``geometry`` as GeoJSON.")

    def values(self) -> dict[str, Any]:
        """The changes with ``geometry`` as a shapely geometry."""
        values = dict(self.changes)
        if "geometry" in values:
            values["geometry"] = geometry_from_geojson(values["geometry"])
        return values


class ReviewStep(BaseModel):
    """A step of the review workflow: submitted → approved → published; approved → submitted returns a
    record to its author, published → approved withdraws it from public outputs."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"state": "approved", "version": 2}]})

    state: Literal["submitted", "approved", "published"]
    version: int = Field(ge=1, description="The version the review is based on.")
