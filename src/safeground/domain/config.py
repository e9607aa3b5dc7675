"""The configuration document: one YAML document stored in the database.

Every key is documented here with its default; ``safeground init --config FILE.yaml`` sets it.
Unknown keys are refused, so a typo never silently falls back to a default.

>>> cfg = Config.model_validate({"country": "col", "release": {"clearance_min_depth_cm": 13}})
>>> cfg.country, cfg.release.clearance_min_depth_cm, cfg.geometry.repair
('COL', 13.0, False)
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from safeground.domain.errors import ConfigError
from safeground.domain.risk import LAYER_KINDS, layer_kind
from safeground.domain.vocabularies import TERRAIN_CLASS


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class GeometryConfig(_Section):
    repair: bool = Field(False, description="Repair invalid polygons on input instead of refusing them. "
                                            "Every repair is reported.")
    check_swapped_coordinates: bool = Field(True, description="Refuse points whose latitude and longitude look "
                                                              "swapped against the national outline.")
    outline_tolerance_deg: float = Field(0.5, ge=0, description="How far outside the national outline (degrees) "
                                                                "a location may lie before the swap check applies.")
    outside_tolerance_km: float | None = Field(10.0, ge=0, description="Refuse locations farther than this outside "
                                                                       "the national outline (km); null turns the "
                                                                       "check off. Natural Earth 1:110m is coarse.")


class ReleaseConfig(_Section):
    clearance_min_depth_cm: float = Field(10.0, ge=0, description="National clearance depth standard (cm). "
                                                                  "Clearance to a shallower depth is refused.")
    remaining_area_tolerance_m2: float = Field(1.0, ge=0, description="A hazard whose remaining area is at most "
                                                                      "this is closed (m², slivers from GPS noise).")


class StatisticsConfig(_Section):
    """Landmine Monitor's contamination labels, by remaining SHA and CHA area of an admin area (km²)."""

    contamination_massive_km2: float = Field(100.0, ge=0, description="More than this is 'massive' contamination.")
    contamination_heavy_km2: float = Field(20.0, ge=0, description="From this up to the massive threshold is "
                                                                   "'heavy' contamination.")
    contamination_medium_km2: float = Field(5.0, ge=0, description="From this up to the heavy threshold is "
                                                                   "'medium'; below it is 'light'.")

    @model_validator(mode="after")
    def _ordered(self) -> StatisticsConfig:
        if not self.contamination_medium_km2 <= self.contamination_heavy_km2 <= self.contamination_massive_km2:
            raise ValueError("contamination thresholds must rise: medium <= heavy <= massive")
        return self

    def contamination_label(self, remaining_km2: float) -> str:
        """Landmine Monitor's label for an area with ``remaining_km2`` of SHA and CHA.

        >>> s = StatisticsConfig()
        >>> [s.contamination_label(k) for k in (100.5, 100.0, 20.0, 19.9, 5.0, 4.9, 0.0)]
        ['massive', 'heavy', 'heavy', 'medium', 'medium', 'light', 'light']
        """
        if remaining_km2 > self.contamination_massive_km2:
            return "massive"
        if remaining_km2 >= self.contamination_heavy_km2:
            return "heavy"
        if remaining_km2 >= self.contamination_medium_km2:
            return "medium"
        return "light"


class AttachmentsConfig(_Section):
    max_mb: float = Field(25.0, gt=0, description="Largest file that may be attached to a record (MB); photos and "
                                                  "scans travel inside the database file.")


class PlanPriorityWeights(_Section):
    """Weights of the priority criteria (``safeground plan priorities``); 0 leaves a criterion out."""

    households: float = Field(3.0, ge=0, description="Displaced households able to return once the hazard is "
                                                     "released (a settlement's households shared among its open "
                                                     "blocking hazards).")
    projects: float = Field(2.0, ge=0, description="Reconstruction projects blocked: value shared among their "
                                                   "open blocking hazards, times deadline urgency.")
    casualties: float = Field(2.0, ge=0, description="Casualties of accidents within plan.casualty_radius_m in the "
                                                     "last plan.casualty_years years.")
    population: float = Field(1.0, ge=0, description="People living in priority targets within "
                                                     "plan.casualty_radius_m, or blocked by the hazard.")
    blockages: float = Field(1.0, ge=0, description="Kinds of blockage (roads, farmland, services...) recorded "
                                                    "on the hazard.")
    contamination: float = Field(1.0, ge=0, description="Predicted contamination of the current risk run; "
                                                        "skipped while no risk run exists.")


class PlanConfig(_Section):
    """Clearance priorities and planning (issue 7)."""

    method: str = Field("weighted", pattern="^(weighted|promethee)$", description="Priority scoring method: "
                        "'weighted' (weighted sum of criteria scaled to 0..1) or 'promethee' (PROMETHEE II).")
    weights: PlanPriorityWeights = Field(default_factory=PlanPriorityWeights)
    casualty_radius_m: float = Field(2000.0, ge=0, le=50_000, description="Distance (m) within which casualties "
                                                                           "and people count for a hazard.")
    casualty_years: float = Field(3.0, gt=0, description="How many years back casualties count.")
    households_weight: float = Field(1.0, ge=0, description="Plan objective: value of one household-week home "
                                                            "before the horizon's end.")
    project_weight: float = Field(0.01, ge=0, description="Plan objective: multiplier on a project's value (USD) "
                                                          "when unblocked by its deadline; 0.01 counts $100 of "
                                                          "reconstruction unblocked on time as one household-week "
                                                          "home.")
    risk_weight: float = Field(0.001, ge=0, description="Plan objective: value of one risk-weighted m² released "
                                                        "at the start of the horizon (less later).")
    effort: dict[str, dict[str, float]] = Field(
        default_factory=lambda: {
            "manual": {"indication": 0.2, "sha": 0.3, "cha": 1.0, "eod_spot_task": 0.1},
            "mechanical": {"indication": 0.2, "sha": 0.3, "cha": 1.0},
            "mdd": {"indication": 0.2, "sha": 0.3, "cha": 1.0},
            "bac": {"indication": 0.2, "sha": 0.3, "cha": 1.0, "eod_spot_task": 0.1},
            "nts": {"indication": 1.0, "sha": 1.0},
        },
        description="Team-m² of work per m² of remaining area, by method and hazard class; a class a method "
                    "lacks is one it cannot release. SHA 0.3: technical survey releases most of an SHA quickly; "
                    "CHA 1.0: full clearance.")
    terrain_factor: dict[str, dict[str, float]] = Field(
        default_factory=lambda: {
            "manual": {"vegetated": 0.6, "forest": 0.4, "rocky": 0.5, "urban": 0.5},
            "mechanical": {"vegetated": 0.8, "forest": 0.3, "rocky": 0.2, "urban": 0.3},
            "mdd": {"vegetated": 0.7, "forest": 0.5, "rocky": 0.6, "urban": 0.4},
            "bac": {"vegetated": 0.7, "forest": 0.5, "rocky": 0.6, "urban": 0.6},
            "nts": {"vegetated": 0.8, "forest": 0.6, "rocky": 0.7, "urban": 0.8},
        },
        description="A team's capacity on each terrain class (hazard_area.terrain) as a share of its capacity on "
                    "open ground (capacity_m2_week), by method; a team's own capacity_m2_week_<class> overrides "
                    "it. A class or method not named clears at the open-ground capacity; 0: the method cannot "
                    "work there.")
    travel_days_per_100km: float = Field(1.0, ge=0, description="Working days a team loses per 100 km between its "
                                                                "base and a hazard, each time it starts there.")
    workdays_per_week: float = Field(5.0, gt=0, le=7, description="Working days in a team's week.")

    @field_validator("terrain_factor")
    @classmethod
    def _terrain_classes(cls, value: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
        for method, factors in value.items():
            for terrain, factor in factors.items():
                if terrain not in TERRAIN_CLASS:
                    raise ValueError(f"plan.terrain_factor.{method}: '{terrain}' is not a terrain class "
                                     f"({', '.join(TERRAIN_CLASS.codes)})")
                if factor < 0:
                    raise ValueError(f"plan.terrain_factor.{method}.{terrain} is negative")
        return value


class RiskLayerConfig(_Section):
    """One context layer of the risk features (``safeground risk``): roads, rivers, the line of contact..."""

    kind: str = Field(description="What the layer holds: " + ", ".join(k.name for k in LAYER_KINDS) + ".")
    file: str = Field(description="Any vector file GDAL reads (GeoPackage, Shapefile, GeoJSON...); a relative path "
                                  "is taken from the database file's folder. 'db' (settlements only) takes the "
                                  "database's own priority targets of kind settlement.")
    layer: str | None = Field(None, description="The layer of the file, when it has more than one.")

    @field_validator("kind")
    @classmethod
    def _known_kind(cls, v: str) -> str:
        if layer_kind(v) is None:
            raise ValueError(f"unknown layer kind {v!r}; known: " + ", ".join(k.name for k in LAYER_KINDS))
        return v


class RiskConfig(_Section):
    """Contamination risk prediction (issue 6)."""

    layers: list[RiskLayerConfig] = Field(default_factory=list, description="Context layers measured for every "
                                          "cell (distance, signed distance to the line of contact, points within "
                                          "5 km), unless a command names its own with --layer or says --no-layers.")


class ServerConfig(_Section):
    """How ``safeground serve`` uses a PostgreSQL database (a GeoPackage file is opened per request instead)."""

    max_connections: int = Field(10, ge=1, le=1000, description="Most connections the web app holds to a PostgreSQL "
                                                                "database for its requests (a pool they share; the "
                                                                "app's shared reader holds one more). Keep the sum "
                                                                "over all servers under the server's "
                                                                "max_connections.")
    pool_timeout_s: float = Field(30.0, gt=0, description="How long a request waits for a free connection before "
                                                          "it is answered 503 (store.pool_exhausted).")


class SyncConfig(_Section):
    basemap_tiles: str | None = Field(None, description="A local tiles file (MBTiles, or a GeoPackage holding a "
                                      "tile table, in Web Mercator) that `safeground sync` copies into every field "
                                      "copy as its `basemap` tile layer, for maps with no connection. None: no tiles.")


class Config(_Section):
    country: str | None = Field(None, description="ISO 3166-1 alpha-3 code. Its Natural Earth outline is the "
                                                  "national outline when no admin_area of level 0 exists.")
    national_crs: int | None = Field(None, description="EPSG code of the projected CRS for grids and distances. "
                                                       "Default: the UTM zone of the national outline.")
    languages: list[str] = Field(default_factory=lambda: ["en", "es"], description="Label languages, first is "
                                                                                     "the default.")
    basemap_url: str | None = Field(None, description="Optional XYZ tile URL for when there is a connection; "
                                                      "Natural Earth outlines are always available offline.")
    geometry: GeometryConfig = Field(default_factory=GeometryConfig)
    release: ReleaseConfig = Field(default_factory=ReleaseConfig)
    attachments: AttachmentsConfig = Field(default_factory=AttachmentsConfig)
    statistics: StatisticsConfig = Field(default_factory=StatisticsConfig)
    plan: PlanConfig = Field(default_factory=PlanConfig)
    risk: RiskConfig = Field(default_factory=RiskConfig)
    server: ServerConfig = Field(default_factory=ServerConfig)
    sync: SyncConfig = Field(default_factory=SyncConfig)

    @field_validator("country")
    @classmethod
    def _iso3(cls, v: str | None) -> str | None:
        if v is None:
            return v
        if len(v) != 3 or not v.isalpha():
            raise ValueError("country must be an ISO3 code such as COL or UKR")
        return v.upper()


def parse_config(data: Any) -> Config:
    """Validate a configuration mapping, turning pydantic's errors into one :class:`ConfigError`."""
    try:
        return Config.model_validate(data or {})
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top level)"
        raise ConfigError("config.invalid", f"Configuration key '{where}': {first['msg']}.",
                          hint="See the configuration keys in the README; remove unknown keys.") from None
