"""Field forms: generated from the declarations, bilingual, right-to-left ready, and valid for ODK Validate."""

from __future__ import annotations

import shutil
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from openpyxl import load_workbook

from safeground.domain.errors import SafeGroundError
from safeground.domain.fields import FieldType
from safeground.domain.forms import FORMS
from safeground.io.xlsform import form_sheets, language_column, to_xform
from safeground.services.forms import write_forms

XF = "{http://www.w3.org/2002/xforms}"


def _require_java() -> None:
    if shutil.which("java") is None:
        pytest.fail("ODK Validate needs Java and 'java' is not on PATH: install it "
                    "(apt-get install -y default-jre-headless), as .ci/run does.")


@pytest.fixture(scope="module")
def forms_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("forms")
    write_forms(out, ["en", "es", "ar"])
    return out


def test_every_form_passes_odk_validate(forms_dir: Path) -> None:
    _require_java()
    assert sorted(p.stem for p in forms_dir.glob("*.xlsx")) == sorted(FORMS)
    with ThreadPoolExecutor(max_workers=len(FORMS)) as pool:  # each validation is a Java process
        xforms = dict(zip(FORMS, pool.map(lambda n: to_xform(forms_dir / f"{n}.xlsx", validate=True), FORMS),
                          strict=True))
    for name, xform in xforms.items():
        root = ET.fromstring(xform)
        langs = {t.get("lang") for t in root.iter(f"{XF}translation")}
        assert langs == {"English (en)", "Spanish (es)", "Arabic (ar)"}, name


def test_questions_types_and_required_come_from_the_declarations(forms_dir: Path) -> None:
    for name, spec in FORMS.items():
        survey = {r["name"]: r for r in form_sheets(spec, ["en"])["survey"]}
        for section in (spec.main, *spec.repeats):
            for f in section.questions():
                row = survey[f.name]
                assert (row.get("required") == "yes") == f.required, (name, f.name)
                if f.vocabulary is not None and f.type is not FieldType.BOOLEAN:
                    assert row["type"].split()[0] == ("select_multiple" if f.type is FieldType.CHOICES
                                                      else "select_one"), (name, f.name)
            for photo in section.photo_names():
                assert survey[photo]["type"] == "image"
    casualty = {r["name"]: r for r in form_sheets(FORMS["accident"], ["en"])["survey"]}
    assert casualty["age"]["constraint"] == ". >= 0 and . <= 120"
    assert "accident" not in casualty, "the link to the accident is the repeat itself, not a question"
    assert "Personal data" in casualty["given_name"]["hint::English (en)"]
    assert casualty["severity"]["relevant"] == "selected(${outcome}, 'injured')", "asked only of the injured"
    nts = {r["name"] for r in form_sheets(FORMS["nts"], ["en"])["survey"]}
    assert "activity_type" not in nts and "depth_cm" not in nts  # fixed to 'nts'; no depth in NTS


def test_vocabularies_and_spanish_labels_come_from_the_declarations() -> None:
    book = form_sheets(FORMS["hazard_report"], ["en", "es"])
    classes = [r for r in book["choices"] if r["list_name"] == "hazard_class"]
    assert [r["name"] for r in classes] == ["indication", "sha", "cha", "eod_spot_task", "stockpile"]
    cha = next(r for r in classes if r["name"] == "cha")
    assert cha["label::Spanish (es)"] == "Área peligrosa confirmada (APC)"
    ts = form_sheets(FORMS["ts_clearance"], ["en"])["choices"]
    assert [r["name"] for r in ts if r["list_name"] == "activity_type_ts_clearance"] == \
        ["ts", "clearance", "bac", "completion"]
    survey = {r["name"]: r for r in book["survey"]}
    assert survey["estimated_area_m2"]["label::English (en)"] == "Estimated area (as reported) (m2)"
    assert survey["geometry"]["type"] == "geoshape" and survey["geometry"]["required"] == "yes"


def test_a_form_with_an_arabic_label_column_converts(tmp_path: Path) -> None:
    _require_java()
    [path] = write_forms(tmp_path, ["ar", "en"], names=["eore_session"])
    book = load_workbook(path)
    survey = book["survey"]
    header = [c.value for c in survey[1]]
    col = header.index(f"label::{language_column('ar')}") + 1
    names = header.index("name") + 1
    arabic = {"women": "نساء", "girls": "فتيات", "boys": "فتيان", "men": "رجال"}
    for row in range(2, survey.max_row + 1):
        name = survey.cell(row, names).value
        if name in arabic:
            survey.cell(row, col).value = arabic[name]
    book.save(path)
    xform = to_xform(path, validate=True)
    assert 'lang="Arabic (ar)"' in xform and "نساء" in xform and "رجال" in xform
    settings = {c.value: v.value for c, v in zip(book["settings"][1], book["settings"][2], strict=True)}
    assert settings["default_language"] == "Arabic (ar)" and settings["form_id"] == "safeground_eore_session"


def test_forms_never_overwrite(tmp_path: Path) -> None:
    write_forms(tmp_path, ["en"], names=["accident"])
    with pytest.raises(SafeGroundError) as exc:
        write_forms(tmp_path, ["en"], names=["eore_session", "accident"])
    assert exc.value.code == "export.target_exists"
    assert not (tmp_path / "eore_session.xlsx").exists(), "all forms or none"


def test_cli_forms_uses_the_configured_languages(tmp_path: Path, any_db: str) -> None:
    import json

    from click.testing import CliRunner

    from safeground.cli import main
    from safeground.domain.config import Config
    from safeground.services.workspace import Workspace

    db = any_db
    with Workspace.open(db, user="ana", create=True) as ws:
        ws.set_config(Config(country="AFG", languages=["ps", "en"]))
    res = CliRunner().invoke(main, ["forms", "--out", str(tmp_path / "forms"), "--db", str(db), "--form", "nts",
                                    "--format", "json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.output)
    assert doc["languages"] == ["ps", "en"] and [Path(p).name for p in doc["forms"]] == ["nts.xlsx"]
    header = [c.value for c in load_workbook(tmp_path / "forms" / "nts.xlsx")["survey"][1]]
    assert "label::Pashto (ps)" in header and "label::English (en)" in header
