"""Write the field forms (XLSForms for ODK Collect and KoBoToolbox) into a folder.

Every form is converted by pyxform as it is written, so a broken form never leaves SafeGround;
``validate`` also runs ODK Validate (needs Java).

>>> import tempfile
>>> [p.name for p in write_forms(tempfile.mkdtemp(), ["en", "es"], names=["eore_session"])]
['eore_session.xlsx']
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from safeground.domain.forms import FORMS, form
from safeground.io.vector import new_file
from safeground.io.xlsform import form_sheets, to_xform, write_xlsx


def write_forms(out: str | Path, languages: Sequence[str], *, names: Sequence[str] | None = None,
                validate: bool = False) -> list[Path]:
    """Write ``<form>.xlsx`` for each form (all by default) into ``out``; never overwrites a file."""
    folder = Path(out)
    specs = [form(n) for n in (names or list(FORMS))]
    targets = [new_file(folder / f"{spec.name}.xlsx") for spec in specs]
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    try:
        for spec, path in zip(specs, targets, strict=True):
            write_xlsx(path, form_sheets(spec, languages))
            written.append(path)
            to_xform(path, validate=validate)
    except BaseException:
        for p in written:  # all forms or none
            p.unlink(missing_ok=True)
        raise
    return written
