"""``safeground init``: create a database (or open an existing one) and set its configuration.

Re-running is safe: keys given now replace the stored ones, and the rest are kept.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from safeground.domain.config import Config, parse_config
from safeground.domain.errors import ConfigError, NotFoundError
from safeground.io.naturalearth import country_outline
from safeground.services.workspace import Workspace


def _merge(base: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in new.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def load_config_file(path: str | Path) -> dict[str, Any]:
    """Read a YAML configuration file into a mapping, with errors that say what to fix."""
    p = Path(path)
    if not p.exists():
        raise NotFoundError("config.file_not_found", f"Configuration file {p} does not exist.", hint="Check the path.")
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError("config.bad_yaml", f"{p} is not valid YAML: {exc}.".replace("\n", " "),
                          hint="Check indentation and colons.") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError("config.not_a_mapping", f"{p} must hold a mapping of keys to values.",
                          hint="Write it as 'key: value' lines, e.g. 'country: COL'.")
    return data


def initialise(db: str | Path, *, user: str | None = None, country: str | None = None,
               config_file: str | Path | None = None) -> tuple[Workspace, Config]:
    """Create or open ``db`` and merge the file's keys and ``country`` into its stored configuration.

    Everything is checked before the database is created or touched. Returns the open workspace
    (the caller closes it) and the configuration now stored.
    """
    given: dict[str, Any] = load_config_file(config_file) if config_file is not None else {}
    if country is not None:
        given["country"] = country
    checked = parse_config(given)
    if checked.country:
        country_outline(checked.country)  # refuse unknown codes now, not at the first import
    ws = Workspace.open(db, user=user, create=True)
    try:
        config = parse_config(_merge(ws.config.model_dump(mode="json"), given))
        ws.set_config(config)
    except BaseException:
        ws.close()
        raise
    return ws, config
