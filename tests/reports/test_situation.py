"""The situation report: its figures are the services' figures, every section is there, nothing personal leaks,
charts use the palette only, a year without data renders, and making it writes nothing to the database.

The data is built here with the rules enforced; the expected figures are tallied from what the test built.
"""

from __future__ import annotations

import json
import re
from html import unescape
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pandas as pd
import pytest
import shapely
from click.testing import CliRunner
from pypdf import PdfReader
from tests.conftest import DATA, db_content
from tests.reports.conftest import PERSONAL, YEAR, World

from safeground.cli import main
from safeground.domain.config import Config
from safeground.domain.errors import ValidationError
from safeground.reports.palette import CATEGORICAL, MUTED, TEXT, UNKNOWN, matplotlib_style
from safeground.reports.situation import SECTIONS, build_context, gather, render_report_html, write_report
from safeground.services.mapped_import import import_csv
from safeground.services.stats import summary
from safeground.services.stats_casualties import casualty_stats
from safeground.services.stats_release import release_stats
from safeground.services.workspace import Workspace


@pytest.fixture(scope="module")
def rendered(built: tuple[Path, World]) -> tuple[dict[str, Any], str]:
    """The context (figures, charts and maps) and the HTML page of the year's report, made once."""
    from safeground.reports.render import render_html

    with Workspace.open(built[0], read_only=True) as ws:
        ctx = build_context(gather(ws, YEAR))
    return ctx, render_html("report.html", **ctx)


@pytest.fixture(scope="module")
def html(rendered: tuple[dict[str, Any], str]) -> str:
    return rendered[1]


def official(world: World, year: int | None = None) -> list[dict[str, Any]]:
    return [c for c in world.casualties if c["state"] == "approved" and (year is None or c["year"] == year)]


def test_the_report_figures_are_the_services_figures(built_any: tuple[str, World]) -> None:
    path, world = built_any
    with Workspace.open(path, read_only=True) as ws:
        ctx = build_context(gather(ws, YEAR), charts=False)
        year_doc = casualty_stats(ws, since=f"{YEAR}-01-01", until=f"{YEAR}-12-31")
        all_doc = casualty_stats(ws)
        rel_year = release_stats(ws, since=f"{YEAR}-01-01", until=f"{YEAR}-12-31")
        rel_all = release_stats(ws)
        summ = summary(ws)
    rows = {r["figure"]: r for r in ctx["summary"]["rows"]}
    # The services' figures, and the same counted here from what was built.
    in_year, ever = official(world, YEAR), official(world)
    assert rows["People killed"]["year"] == year_doc["outcome"]["killed"] == \
        sum(c["outcome"] == "killed" for c in in_year) == 1
    assert rows["People injured"]["year"] == year_doc["outcome"]["injured"] == \
        sum(c["outcome"] == "injured" for c in in_year) == 2
    assert rows["People injured"]["to_date"] == all_doc["outcome"]["injured"] == \
        sum(c["outcome"] == "injured" for c in ever) == 3
    assert rows["Accidents recorded"]["year"] == world.accidents[YEAR] == 2
    assert rows["Accidents recorded"]["to_date"] == sum(world.accidents.values()) == 3
    assert rows["Land released (km²)"]["year"] == rel_year["released"]["total"]["released_km2"] > 0
    assert rows["Land released (km²)"]["to_date"] == rel_all["released"]["total"]["released_km2"]
    assert rows["Devices destroyed"]["year"] == rel_year["devices_destroyed"]["total"] == 3
    assert rows["Devices destroyed"]["to_date"] == rel_all["devices_destroyed"]["total"] == 5
    assert ctx["summary"]["statement"] == year_doc["statement"]["text"]
    assert ctx["summary"]["statement"].startswith("Since 1 January 2024, 1 person has been killed")
    assert ctx["casualties"]["status"] == year_doc["status"]
    assert ctx["casualties"]["status"]["civilian"] == sum(c["status"] == "civilian" for c in in_year)
    assert ctx["casualties"]["children"] == year_doc["children"]
    assert ctx["land_release"]["remaining"] == rel_all["remaining"]
    assert ctx["operations"]["productivity"] == rel_year["productivity"]
    assert {k: ctx["eore"]["to_date"][k] for k in summ["eore"]} == summ["eore"]  # as the summary counts
    assert {k: ctx["eore"]["year"][k] for k in world.eore} == world.eore  # the one session is dated in YEAR
    assert ctx["eore"]["year"]["beneficiaries"] == sum(world.eore.values())
    assert ctx["assistance"]["total"] == {"referrals": world.referrals, "people": world.referrals}
    assert ctx["assistance"]["by_service"]["rehabilitation"]["referrals"] == world.referrals
    assert ctx["summary"]["referrals_year"] == ctx["summary"]["referrals_to_date"] == world.referrals
    apmbc = ctx["treaty"]["apmbc"]["tables"]
    assert set(ctx["treaty"]) == {"apmbc", "ccm"}
    assert apmbc["risk_education"]["total"]["sessions"] == 1
    assert apmbc["victim_assistance"]["total"]["referrals"] == world.referrals
    assert ctx["revisions"] is None  # never published
    assert ctx["records"]["summary"]["records_checked"] == 1
    assert ctx["quality"]["quarantine"] == {"open": 1, "by_layer": {"accident": 1},
                                            "by_code": {"record.not_in_vocabulary": 1}}


def _cells(html: str, label: str) -> list[str]:
    """The numeric cells of the table row whose first cell is ``label``."""
    row = re.search(rf"<tr><td>{re.escape(label)}</td>(.*?)</tr>", html, re.S)
    assert row, label
    return [unescape(c).strip() for c in re.findall(r'<td class="num">(.*?)</td>', row.group(1))]


def test_the_html_shows_the_figures_of_the_context(rendered: tuple[dict[str, Any], str]) -> None:
    ctx, html = rendered
    for r in ctx["summary"]["rows"]:
        fmt = (lambda x: f"{x:,.2f}") if r["km2"] else (lambda x: f"{x:,}")
        assert _cells(html, r["figure"]) == [fmt(r["year"]), fmt(r["to_date"])], r["figure"]
    e = ctx["eore"]["year"]
    section = html[html.index('<section id="eore"'):html.index('<section id="assistance"')]
    row = re.search(r'<tr class="total"><td>Total</td>(.*?)</tr>', section, re.S)
    assert row  # the EORE table's total row: sessions, women, girls, boys, men, people
    total = [unescape(c).strip() for c in re.findall(r'<td class="num">(.*?)</td>', row.group(1))]
    assert total == [f"{e[k]:,}" for k in ("sessions", "women", "girls", "boys", "men", "beneficiaries")]
    assert unescape(ctx["summary"]["statement"]) in unescape(html)


def test_every_section_is_there_in_order(html: str) -> None:
    positions = [html.index(f'<section id="{key}"') for key in SECTIONS]
    assert positions == sorted(positions)
    for title in SECTIONS.values():
        assert f"<h2>{title}</h2>" in html
    assert "<svg" in html and 'src="data:image/png;base64,' in html
    assert not re.search(r'(src|href)="(https?:)?//', html)  # one self-contained file: nothing fetched


def test_no_personal_casualty_field_appears(html: str) -> None:
    for value in PERSONAL:
        assert value not in html and unescape(value) not in unescape(html)


def test_charts_use_the_palette_colours_only(rendered: tuple[dict[str, Any], str]) -> None:
    charts = rendered[0]["charts"]
    allowed = {c.lower() for c in (*CATEGORICAL, TEXT, MUTED, UNKNOWN, "#ffffff", matplotlib_style()["grid.color"])}
    drawn = [svg for svg in charts.values() if svg]
    assert len(drawn) == 6
    for svg in drawn:
        colours = {c.lower() for c in re.findall(r"#[0-9a-fA-F]{6}\b", svg)}
        assert colours <= allowed, colours - allowed
        assert colours & {c.lower() for c in CATEGORICAL}  # the data are in palette colours
        assert "rgb(" not in svg


def test_the_pdf_has_the_section_titles_and_the_statement(built: tuple[Path, World], tmp_path: Path) -> None:
    out = tmp_path / "report.pdf"
    with Workspace.open(built[0], read_only=True) as ws:
        doc = write_report(ws, YEAR, out)
        statement = casualty_stats(ws, since=f"{YEAR}-01-01", until=f"{YEAR}-12-31")["statement"]["text"]
    reader = PdfReader(out)
    text = " ".join(" ".join(page.extract_text().split()) for page in reader.pages)
    assert doc["format"] == "pdf" and len(reader.pages) >= len(SECTIONS) - 2
    for title in SECTIONS.values():
        assert title in text, title
    assert statement in text
    for value in PERSONAL:
        assert value not in text


def test_a_year_without_data_renders_zeros_and_no_records_lines(built: tuple[Path, World]) -> None:
    with Workspace.open(built[0], read_only=True) as ws:
        d = gather(ws, 2010)
        ctx = build_context(d, charts=False)
        page = render_report_html(d)
    rows = {r["figure"]: r["year"] for r in ctx["summary"]["rows"]}
    assert rows == {"People killed": 0, "People injured": 0, "Casualties, outcome unknown": 0,
                    "Accidents recorded": 0, "Land released (km²)": 0.0, "Devices destroyed": 0}
    assert "No casualties recorded in 2010." in page
    assert "No land released in 2010." in page
    assert "No devices destroyed in 2010." in page
    assert "Since 1 January 2010, 0 people have been killed" in page


def test_an_empty_database_renders(tmp_path: Path) -> None:
    path = tmp_path / "empty.gpkg"
    Workspace.open(path, user="ana", create=True).close()
    with Workspace.open(path, read_only=True) as ws:
        doc = write_report(ws, YEAR, tmp_path / "empty.html")
    page = Path(doc["report"]).read_text(encoding="utf-8")
    assert "No casualties recorded in 2024." in page and "No EORE sessions recorded in 2024." in page
    assert "No victim assistance referrals recorded in 2024." in page and "have not been published yet" in page
    assert "No imported rows wait in the quarantine." in page


def test_making_a_report_writes_nothing_to_the_database(built_any: tuple[str, World], tmp_path: Path) -> None:
    path = built_any[0]
    before = db_content(path)
    result = CliRunner().invoke(main, ["report", "--db", str(path), "--year", str(YEAR), "--out",
                                       str(tmp_path / "r.html"), "--format", "json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    schema = json.loads(resources.files("safeground").joinpath("data/schemas/report.schema.json").read_text())
    jsonschema.validate(doc, schema)
    assert doc["sections"] == list(SECTIONS) and doc["year"] == YEAR and doc["bytes"] > 10_000
    assert db_content(path) == before
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert not [p for p in PERSONAL if p in page]


@pytest.mark.parametrize(("args", "code"), [
    (["--year", "2999", "--out", "r.pdf"], "report.bad_year"),
    (["--year", "1850", "--out", "r.pdf"], "report.bad_year"),
    (["--year", "2024", "--out", "r.docx"], "report.bad_format"),
    (["--year", "2024", "--out", "taken.html"], "export.target_exists"),
])
def test_refusals_name_the_rule_and_write_nothing(built: tuple[Path, World], tmp_path: Path, args: list[str],
                                                  code: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "taken.html").write_text("mine", encoding="utf-8")
    result = CliRunner().invoke(main, ["report", "--db", str(built[0]), *args])
    assert result.exit_code == 1 and code in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken.html"]
    assert (tmp_path / "taken.html").read_text(encoding="utf-8") == "mine"


def test_write_report_refuses_an_unknown_suffix_before_any_work(built: tuple[Path, World], tmp_path: Path) -> None:
    with Workspace.open(built[0], read_only=True) as ws, pytest.raises(ValidationError) as info:
        write_report(ws, YEAR, tmp_path / "r.txt")
    assert info.value.code == "report.bad_format"


def test_the_colombia_register_year_matches_pandas(tmp_path: Path) -> None:
    """Real data: three years of the AICMA register; the report's accidents of 2010 are the register's, less the
    rows the import quarantined, and the quarantine count in the report is the import's."""
    register = pd.read_csv(DATA / "colombia_aicma" / "events_1990_2014.csv")
    sample = register[register.year.between(2009, 2011)]
    csv = tmp_path / "register.csv"
    sample.to_csv(csv, index=False)
    path = tmp_path / "col.gpkg"
    with Workspace.open(path, user="ana", create=True) as ws:
        ws.set_config(Config(country="COL"))
        report = import_csv(ws, csv, "colombia_aicma")
        quarantined = {e["source_row"] for e in ws.store.quarantined()}
    with Workspace.open(path, read_only=True) as ws:
        ctx = build_context(gather(ws, 2010), charts=False)
    rows = sample.reset_index(drop=True)
    kept = rows[~rows.index.map(lambda i: i + 1 in quarantined)]
    want = int((kept.tipo_evento.str.startswith("Accidente") & (kept.year == 2010)).sum())
    got = {r["figure"]: r for r in ctx["summary"]["rows"]}["Accidents recorded"]
    assert got["year"] == want > 100
    assert got["to_date"] == int(kept.tipo_evento.str.startswith("Accidente").sum())
    assert ctx["quality"]["quarantine"]["open"] == report.rows_quarantined == len(quarantined)


def test_include_submitted_counts_the_submitted_records_too(built: tuple[Path, World]) -> None:
    path, world = built
    with Workspace.open(path, read_only=True) as ws:
        ctx = build_context(gather(ws, YEAR, include_submitted=True), charts=False)
    rows = {r["figure"]: r for r in ctx["summary"]["rows"]}
    every = [c for c in world.casualties if c["year"] == YEAR]
    assert rows["People killed"]["year"] == sum(c["outcome"] == "killed" for c in every) == 2
    assert rows["Accidents recorded"]["year"] == world.accidents[YEAR] + 1  # the submitted accident
    assert not ctx["official_only"] and ctx["review_states"] == ["submitted", "approved", "published"]


def test_a_late_report_shows_as_a_revision_of_the_published_year(built: tuple[Path, World], tmp_path: Path) -> None:
    """Publish the year, then approve an accident of that year reported late: the report's last section
    names the figures it moved, by how much, and the accident's ref, never the casualty's name."""
    import shutil

    from safeground.services.records import add_record
    from safeground.services.stats_publish import publish

    path = tmp_path / "late.gpkg"
    shutil.copy(built[0], path)
    with Workspace.open(path, user="ana") as ws:
        publish(ws, YEAR, note="annual report")
        acc = add_record(ws, "accident", {"accident_type": "mine_erw", "accident_date": f"{YEAR}-06-01",
                                          "device_category": "ap_mine", "admin1": "Meta", "admin2": "Mesetas",
                                          "geometry": shapely.Point(-73.5, 3.5)}, review_state="approved")
        add_record(ws, "casualty", {"accident": acc["uuid"], "outcome": "killed", "status": "civilian",
                                    "given_name": "Rosa", "family_name": "Late-Report"}, review_state="approved")
    with Workspace.open(path, read_only=True) as ws:
        ctx = build_context(gather(ws, YEAR))
    from safeground.reports.render import render_html

    page = render_html("report.html", **ctx)
    rv = ctx["revisions"]
    assert rv["year"] == YEAR and rv["version"] == 1 and rv["note"] == "annual report"
    killed = [c for c in rv["changes"] if c["view"] == "casualties" and c["figure"] == "outcome.killed"]
    assert killed and killed[0]["difference"] == 1 and killed[0]["current"] == killed[0]["published"] + 1
    assert acc["ref"] in {r["ref"] for r in rv["records"]}
    section = page[page.index('<section id="revisions"'):]
    assert acc["ref"] in section and "annual report" in section
    assert "Rosa" not in page and "Late-Report" not in page
