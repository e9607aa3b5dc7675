"""The three documents as a reader gets them: PDFs read back with pypdf, the CLI, and the demo database."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pypdf
import pytest
from click.testing import CliRunner
from tests.services.test_paperwork import Site, build_site

from safeground.cli import main
from safeground.domain.config import Config
from safeground.reports.paperwork import write_document
from safeground.services import paperwork
from safeground.services.workspace import Workspace

PERSONAL = ("Rosa", "Quintero", "CC-1234567")


def pdf_text(path: Path) -> tuple[int, str]:
    reader = pypdf.PdfReader(path)
    return len(reader.pages), "\n".join(page.extract_text() for page in reader.pages)


def check_pages(pages: int, text: str) -> None:
    """Every page says 'Page n of N' with the real count, and nothing overflows into a surprise page."""
    assert re.findall(r"Page (\d+) of (\d+)", text) == [(str(i), str(pages)) for i in range(1, pages + 1)]


@pytest.fixture
def site(ws: Workspace) -> Site:
    return build_site(ws)


def test_task_order_pdf(ws: Workspace, site: Site, tmp_path: Path) -> None:
    doc = paperwork.task_order(ws, site.hazard["ref"], team_ref=site.team["ref"])
    pages, text = pdf_text(write_document(doc, tmp_path / "task_order.pdf"))
    assert 1 <= pages <= 4
    check_pages(pages, text)
    assert f"Task order {site.hazard['ref']}" in text
    for tp in doc["turning_points"]:
        assert f"{tp['lat']:.6f}" in text and f"{tp['lon']:.6f}" in text and tp["mgrs"] in text
        assert tp["lat_dms"] in text and tp["lon_dms"] in text
    assert site.record["ref"] in text  # the benchmark
    assert "Received by (team leader)" in text and "Signature" in text
    assert not any(p in text for p in PERSONAL)


def test_completion_report_pdf(ws: Workspace, site: Site, tmp_path: Path) -> None:
    doc = paperwork.completion_report(ws, site.clearance["ref"])
    pages, text = pdf_text(write_document(doc, tmp_path / "completion.pdf"))
    check_pages(pages, text)
    assert f"Completion report {site.clearance['ref']}" in text
    assert site.west["ref"] in text and "Team-days" in text and "Factory-made anti-personnel mine" in text
    assert f"{doc['productivity']['m2_per_team_day']:,.0f} m² per team-day" in text


def test_handover_certificate_pdf_and_html(ws: Workspace, site: Site, tmp_path: Path) -> None:
    doc = paperwork.handover_certificate(ws, site.clearance["ref"])
    pages, text = pdf_text(write_document(doc, tmp_path / "handover.pdf"))
    check_pages(pages, text)
    assert site.hazard["ref"] in text and site.west["ref"] in text
    for tp in doc["turning_points"]:
        assert f"{tp['lat']:.6f}" in text and tp["mgrs"] in text
    for role in ("For the operator", "For the national mine action authority", "Landowner or land user",
                 "Community representative"):
        assert role in text
    assert text.count("Signature") >= 4 and text.count("Date") >= 4
    assert "Residual risk" in text and "If you find an item" in text
    html = write_document(doc, tmp_path / "handover.html").read_text("utf-8")
    assert site.west["ref"] in html and "data:image/png;base64," in html
    assert not any(p in text + html for p in PERSONAL)


def test_documents_never_overwrite(ws: Workspace, site: Site, tmp_path: Path) -> None:
    doc = paperwork.completion_report(ws, site.clearance["ref"])
    (tmp_path / "old.pdf").write_bytes(b"signed copy")
    for name, code in (("old.pdf", "document.target_exists"), ("report.docx", "document.bad_target")):
        with pytest.raises(Exception) as info:
            write_document(doc, tmp_path / name)
        assert getattr(info.value, "code", None) == code
    assert (tmp_path / "old.pdf").read_bytes() == b"signed copy"


def test_cli_refuses_unreleased_land_and_writes_nothing(tmp_path: Path) -> None:
    db = tmp_path / "site.gpkg"
    ws = Workspace.open(db, user="ana", create=True)
    ws.set_config(Config(country="COL"))
    s = build_site(ws, qc=False)
    ws.close()
    out = tmp_path / "cert.pdf"
    result = CliRunner().invoke(main, ["document", "handover-certificate", s.clearance["ref"], "--out", str(out),
                                       "--db", str(db)])
    assert result.exit_code == 1
    assert "document.not_released" in result.output and "Hint:" in result.output
    assert not out.exists()
    result = CliRunner().invoke(main, ["document", "completion-report", s.clearance["ref"], "--out",
                                       str(tmp_path / "cr.html"), "--db", str(db), "--format", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) | {"seconds": 0} == {"document": "completion_report", "format": "html",
                                                          "file": str(tmp_path / "cr.html"), "draft": False,
                                                          "seconds": 0}


def test_demo_database_documents(tmp_path: Path) -> None:
    """All three from the demo region, as HTML (the PDF path is the same page through WeasyPrint, tested above)."""
    db = tmp_path / "demo.gpkg"
    runner = CliRunner()
    assert runner.invoke(main, ["demo", "--db", str(db)]).exit_code == 0
    with Workspace.open(db) as ws:
        official = ["approved", "published"]
        open_cha = ws.store.query("hazard_area", where={"hazard_class": "cha", "status": ["open", "worked_on"],
                                                        "review_state": official}, geometry=False)
        team = ws.store.query("team", where={"method": "manual"}, geometry=False)[0]
        released = {r["activity"] for r in ws.store.query("released_area", where={"release_status": "released",
                    "review_state": official}, geometry=False)}
        waiting = {r["activity"] for r in ws.store.query("released_area", where={"release_status": ["awaiting_qc",
                   "awaiting_approval"]}, geometry=False)}
        acts = ws.store.query("activity", where={"uuid": sorted(released - waiting), "review_state": official,
                                                 "activity_type": "clearance"}, geometry=False, order_by="ref")
    args = {"task-order": [open_cha[0]["ref"], "--team", team["ref"]], "completion-report": [acts[0]["ref"]],
            "handover-certificate": [acts[0]["ref"]]}
    for command, extra in args.items():
        out = tmp_path / f"{command}.html"
        result = runner.invoke(main, ["document", command, *extra, "--out", str(out), "--db", str(db)])
        assert result.exit_code == 0, result.output
        page = out.read_text("utf-8")
        assert extra[0] in page and "data:image/png;base64," in page
