"""The ``safeground`` command line: thin wrappers that parse options, call a use case and print.

Every subcommand takes ``--db`` (default: SAFEGROUND_DB, then ./safeground.gpkg) and ``--user``
(default: SAFEGROUND_USER, then the login). Errors print one line with their code and a hint,
exit non-zero and leave the database unchanged.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import click

from safeground import __version__
from safeground.domain.errors import SafeGroundError, ValidationError
from safeground.domain.records import LAYERS
from safeground.services.workspace import Workspace, database_present

F = TypeVar("F", bound=Callable[..., Any])

DB_HELP = ("GeoPackage file, or a PostgreSQL/PostGIS URL postgresql://... (default: $SAFEGROUND_DB, then "
           "./safeground.gpkg).")


def db_options(fn: F) -> F:
    fn = click.option("--user", envvar="SAFEGROUND_USER", default=None,
                      help="Who is acting (default: $SAFEGROUND_USER, then the login).")(fn)
    return click.option("--db", envvar="SAFEGROUND_DB", default="safeground.gpkg", show_default=True,
                        help=DB_HELP)(fn)


def _remember_format(ctx: click.Context, _param: click.Parameter, value: str) -> str:
    ctx.meta["safeground.format"] = value  # shared with the group, which renders errors
    return value


def format_option(fn: F) -> F:
    return click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
                        callback=_remember_format, is_eager=True,
                        help="Output format; the JSON is documented in the README.")(fn)


def hazards_option(fn: F) -> F:
    return click.option("--hazards", type=int, metavar="N",
                        help="Plan only the N highest-priority open hazards (plan priorities' score); targets "
                             "that also wait on others are left out.")(fn)


@contextmanager
def workspace(db: str, user: str | None, *, create: bool = False) -> Iterator[Workspace]:
    ws = Workspace.open(db, user=user, create=create)
    try:
        yield ws
    finally:
        ws.close()


def emit(fmt: str, doc: Any, text: str) -> None:
    if fmt == "json":
        click.echo(json.dumps(doc, indent=2, ensure_ascii=False, default=str))
    else:
        click.echo(text)


def progress_bar() -> Callable[[str, int, int], None] | None:
    """A progress callback drawing on stderr, or ``None`` when stderr is not a terminal."""
    if not sys.stderr.isatty():
        return None
    state: dict[str, Any] = {}

    def update(step: str, done: int, total: int) -> None:
        if state.get("step") != step:
            if state.get("bar") is not None:
                state["bar"].render_finish()
            state["step"] = step
            state["done"] = 0
            state["bar"] = click.progressbar(length=max(total, 1), label=f"{step:<18}", file=sys.stderr)
        bar = state["bar"]
        bar.update(done - state["done"])
        state["done"] = done
        if done >= total:
            bar.render_finish()
            state["bar"] = None

    return update


class SafeGroundGroup(click.Group):
    """Turns a :class:`SafeGroundError` into one line on stderr and exit code 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except SafeGroundError as err:
            if ctx.meta.get("safeground.format") == "json":
                click.echo(json.dumps(err.to_problem(), ensure_ascii=False), err=True)
            else:
                click.echo(f"Error: {err.one_line()}", err=True)
            ctx.exit(1)


@click.group(cls=SafeGroundGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="safeground")
def main() -> None:
    """SafeGround: mine action information management (IMAS) on one GeoPackage file or a PostGIS database."""


@main.command()
@db_options
@click.option("--country", metavar="ISO3", help="Country code, e.g. COL; sets the national outline.")
@click.option("--config", "config_file", type=click.Path(dir_okay=False), help="YAML file with configuration keys.")
@format_option
def init(db: str, user: str | None, country: str | None, config_file: str | None, fmt: str) -> None:
    """Create the database if needed and set its configuration (safe to re-run).

    Example: safeground init --db kabul.gpkg --country AFG
    """
    from safeground.services.configuration import initialise

    ws, config = initialise(db, user=user, country=country, config_file=config_file)
    with ws:
        doc = {"database": ws.store.location, "schema_version": ws.store.schema_version,
               "config": config.model_dump(mode="json")}
    import yaml

    emit(fmt, doc, f"Initialised {doc['database']} (schema version {doc['schema_version']}).\n"
         + yaml.safe_dump(doc["config"], sort_keys=False, allow_unicode=True).rstrip())


@main.command()
@db_options
@click.option("--scale", type=click.Choice(["small", "national"]), default="small", show_default=True,
              help="small: seconds, for trying things out; national: ~100,000 hazards, for benchmarks.")
@click.option("--seed", type=int, default=1, show_default=True, help="The same seed always gives the same data.")
@format_option
def demo(db: str, user: str | None, scale: str, seed: int, fmt: str) -> None:
    """Build a fictional post-conflict region with ground truth kept in a separate file.

    Example: safeground demo --db demo.gpkg --scale small --seed 7
    """
    from safeground.services.demo import add_demo_accounts, build_demo

    with workspace(db, user, create=True) as ws:
        result = build_demo(ws, scale=scale, seed=seed, progress=progress_bar())
        accounts = add_demo_accounts(ws)
    doc = result.to_dict()
    doc["accounts_path"] = str(accounts)
    emit(fmt, doc, f"Built the {scale} demo (seed {seed}) in {doc['seconds']:.1f} s: {db}\n"
         f"Ground truth (for evaluation only): {doc['truth_path']}\n"
         f"Accounts for the web app, one per role, with their passwords: {accounts}\n"
         + "\n".join(f"  {k:<20} {v:>9}" for k, v in doc["counts"].items()))


@main.command(name="import")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--as", "layer", type=click.Choice(LAYERS), help="SafeGround layer to import into.")
@click.option("--mapping", help="Mapping (a shipped name such as colombia_aicma, or a YAML file) for a CSV or GIS "
                                "file; it routes rows to layers and quarantines rows it cannot store.")
@click.option("--form", "form_name", help="FILE holds submissions of this field form (ODK Central .zip/.csv/.json, "
                                         "KoBoToolbox .csv/.json); see 'safeground forms'.")
@db_options
@click.option("--layer", "source_layer", help="Layer of FILE to read, when it has several.")
@click.option("--crs", "epsg", type=int, help="EPSG code of FILE's coordinates, when the file does not say.")
@click.option("--repair", is_flag=True, default=None, help="Repair invalid polygons (each repair is reported).")
@click.option("--admin-level", type=click.IntRange(0, 5), help="With --as admin_area: the COD-AB level of FILE "
              "(ADM<n>_PCODE columns). After level 2, every record is placed in its areas.")
@click.option("--review-state", type=click.Choice(["submitted", "approved"]), default="submitted",
              show_default=True, help="'approved' only for official sources.")
@format_option
def import_(file: str, layer: str | None, mapping: str | None, form_name: str | None, db: str, user: str | None,
            source_layer: str | None, epsg: int | None, repair: bool | None, admin_level: int | None,
            review_state: str, fmt: str) -> None:
    """Import a GeoJSON, GeoPackage, FlatGeobuf, Shapefile, KML, GPX or CSV file into a layer, a CSV file
    through a mapping, or field-form submissions. Rows (submissions) that break a rule are quarantined with
    their reason; a broken file imports nothing.

    Examples: safeground import hazards.geojson --as hazard_area --db demo.gpkg;
    safeground import events_1990_2014.csv --mapping colombia_aicma --db colombia.gpkg;
    safeground import safeground_nts.zip --form nts --db demo.gpkg
    """
    if form_name:
        from safeground.services.submissions import ingest

        with workspace(db, user) as ws:
            sub = ingest(ws, file, form_name)
        lines = [f"Read {sub.submissions_read} submissions of form {sub.form} ({sub.format}) from {file}: stored "
                 f"{sub.submissions_stored}, quarantined {sub.submissions_quarantined} (import run {sub.import_run}); "
                 f"{sub.records_created} records created, {sub.records_updated} updated, {sub.records_unchanged} "
                 f"unchanged; {sub.attachments_stored} attachments."]
        lines += [f"  {k:<20} {v:>9}" for k, v in sub.created_by_layer.items()]
        lines += [f"  quarantined: {k:<12} {v:>9}" for k, v in sub.quarantine_reasons.items()]
        lines += [f"  attachment not in the export: {m}" for m in sub.attachments_missing]
        emit(fmt, sub.to_dict(), "\n".join(lines))
        return
    if mapping:
        from safeground.services.mapped_import import import_csv

        with workspace(db, user) as ws:
            result = import_csv(ws, file, mapping, progress=progress_bar(), source_layer=source_layer)
        doc = result.to_dict()
        lines = [f"Read {result.rows_read} rows from {file}: stored {result.rows_stored}, quarantined "
                 f"{result.rows_quarantined} (import run {result.import_run}); "
                 f"{result.exact_duplicates} exact duplicate rows kept and flagged."]
        if result.quarantine_resolved:
            lines.append(f"Resolved {result.quarantine_resolved} quarantine entries (fixed rows now stored).")
        lines += [f"  {k:<20} {v:>9}" for k, v in result.stored_by_layer.items()]
        lines += [f"  quarantined: {k:<12} {v:>9}" for k, v in result.quarantine_reasons.items()]
        emit(fmt, doc, "\n".join(lines))
        return
    if admin_level is not None:
        if layer != "admin_area":
            raise click.UsageError("--admin-level goes with --as admin_area.")
        from safeground.services.admin import import_boundaries

        with workspace(db, user) as ws:
            n, placed = import_boundaries(ws, file, admin_level, source_layer=source_layer, epsg=epsg)
        emit(fmt, {"admin_areas": n, "level": admin_level, "records_placed": placed},
             f"Imported {n} admin areas of level {admin_level}."
             + "".join(f"\n  placed {v} {k} records" for k, v in placed.items()))
        return
    if layer is None:
        raise click.UsageError("Say which layer to import into with --as LAYER, or give --mapping.")
    from safeground.services.transfer import import_file

    with workspace(db, user) as ws:
        report = import_file(ws, file, layer, source_layer=source_layer, epsg=epsg, repair=repair,
                             review_state=review_state)
    doc = report.to_dict()
    text = f"Imported {report.rows_stored} of {report.rows_read} rows from {file} into {layer} " \
           f"(import run {report.import_run}); quarantined {report.rows_quarantined}."
    text += "".join(f"\n  quarantined: {k:<24} {v:>7}" for k, v in report.quarantine_reasons.items())
    if report.ignored_columns:
        text += "\nIgnored columns: " + ", ".join(report.ignored_columns)
    if report.repairs:
        text += "\nRepairs:\n  " + "\n  ".join(report.repairs)
    emit(fmt, doc, text)


@main.command()
@db_options
@click.option("--layer", required=True, type=click.Choice(LAYERS), help="Layer to export.")
@click.option("--to", "target", required=True, type=click.Path(dir_okay=False),
              help="Output file: .geojson, .gpkg, .fgb, .shp.zip, .kml, .gpx (points and lines) or .csv (WKT column); "
                   "never overwritten.")
@click.option("--include-retired", is_flag=True, help="Also export retired records.")
@click.option("--include-personal", is_flag=True, help="Also export personal fields (names, contacts).")
@click.option("--published-only", is_flag=True, help="Only published records, for public release.")
@click.option("--hxl", is_flag=True, help="CSV with HXL hashtags for HDX: published records only, no personal "
                                          "fields, casualties as counts by admin area, month, outcome and status.")
@format_option
def export(db: str, user: str | None, layer: str, target: str, include_retired: bool, include_personal: bool,
           published_only: bool, hxl: bool, fmt: str) -> None:
    """Export a layer to GeoJSON, GeoPackage, FlatGeobuf or CSV (personal fields left out by default).

    Example: safeground export --layer hazard_area --to hazards.geojson --db demo.gpkg
    """
    from safeground.services.transfer import export_layer

    if hxl:
        from safeground.services.hxl import export_hxl

        with workspace(db, user) as ws:
            n = export_hxl(ws, layer, target)
        emit(fmt, {"layer": layer, "file": target, "records": n}, f"Exported {n} HXL rows of {layer} to {target}.")
        return
    with workspace(db, user) as ws:
        n = export_layer(ws, layer, target, include_retired=include_retired, include_personal=include_personal,
                         review_states=("published",) if published_only else None)
    emit(fmt, {"layer": layer, "file": target, "records": n}, f"Exported {n} {layer} records to {target}.")


@main.command()
@db_options
@click.option("--out", "out", required=True, type=click.Path(file_okay=False), help="Folder for the .xlsx forms.")
@click.option("--language", "languages", multiple=True, metavar="CODE",
              help="Label language, repeatable; the first is the default (default: the database's configured "
                   "languages, else en and es).")
@click.option("--form", "names", multiple=True, help="Only this form (repeatable; default: all).")
@click.option("--validate", is_flag=True, help="Also run ODK Validate on each form (needs Java).")
@format_option
def forms(db: str, user: str | None, out: str, languages: tuple[str, ...], names: tuple[str, ...], validate: bool,
          fmt: str) -> None:
    """Write the field forms (XLSForms for ODK Collect and KoBoToolbox), generated from the record declarations.

    Example: safeground forms --out forms/ --language en --language es --language ar
    """
    from safeground.services.forms import write_forms

    langs = list(languages)
    if not langs and database_present(db):
        with workspace(db, user) as ws:
            langs = list(ws.config.languages)
    paths = write_forms(out, langs or ["en", "es"], names=list(names) or None, validate=validate)
    emit(fmt, {"folder": out, "forms": [str(p) for p in paths], "languages": langs or ["en", "es"]},
         f"Wrote {len(paths)} forms to {out}:\n" + "\n".join(f"  {p.name}" for p in paths))


@main.command()
@click.argument("ref")
@click.argument("file", type=click.Path(dir_okay=False))
@db_options
@click.option("--personal/--not-personal", default=None,
              help="Mark the file as personal data (default: personal for casualties and referrals).")
@format_option
def attach(ref: str, file: str, db: str, user: str | None, personal: bool | None, fmt: str) -> None:
    """Attach a photo, scanned minefield record or sketch to a record (by ref such as HA-000123, or uuid).

    Example: safeground attach HA-000123 sketch.jpg --db demo.gpkg
    """
    from safeground.services.attachments import attach as attach_file

    with workspace(db, user) as ws:
        att = attach_file(ws, ref, file, personal=personal)
    emit(fmt, att, f"Attached {att['file_name']} ({att['size']:,} bytes, {att['content_type']}) to {ref} "
         f"as {att['uuid']}.")


@main.command()
@click.argument("ref")
@db_options
@click.option("--extract", "extract_dir", type=click.Path(file_okay=False), help="Write the files into this folder.")
@click.option("--name", help="With --extract or --retire: only the attachment with this file name or uuid.")
@click.option("--retire", "reason", metavar="REASON", help="Retire the attachment given by --name, with this reason.")
@click.option("--include-retired", is_flag=True, help="Also list retired attachments.")
@format_option
def attachments(ref: str, db: str, user: str | None, extract_dir: str | None, name: str | None, reason: str | None,
                include_retired: bool, fmt: str) -> None:
    """List a record's attachments; extract them into a folder, or retire one.

    Example: safeground attachments HA-000123 --extract photos/ --db demo.gpkg
    """
    from safeground.services import attachments as service

    with workspace(db, user) as ws:
        if reason is not None:
            if name is None:
                raise click.UsageError("--retire needs --name FILE_NAME_OR_UUID.")
            service.retire_attachment(ws, ref, name, reason)
        layer, record, items = service.list_attachments(ws, ref, include_retired=include_retired)
        written = service.extract(ws, ref, extract_dir, name=name) if extract_dir else []
    doc = {"layer": layer, "ref": record["ref"], "uuid": record["uuid"], "attachments": items,
           "extracted": [str(p) for p in written]}
    lines = [f"{record['ref']} ({layer}): {len(items)} attachments."]
    lines += [f"  {a['file_name']:<30} {a['size']:>10,} B  {a['content_type']:<20} {a['uuid']}"
              + (" personal" if a["personal"] else "") + (f" retired: {a['retired_reason']}" if a["retired_at"]
                                                           else "") for a in items]
    lines += [f"Extracted {p}" for p in written]
    emit(fmt, doc, "\n".join(lines))


def _stats_db(ctx: click.Context, db: str, user: str | None) -> tuple[str, str | None]:
    """``--db``/``--user`` of a stats subcommand, or those given to ``stats`` itself (``stats --db X release``)."""
    group = ctx.parent.params if ctx.parent else {}
    if ctx.get_parameter_source("db") in (None, click.core.ParameterSource.DEFAULT) and group.get("db"):
        db = group["db"]
    return db, user or group.get("user")


def _published_options(fn: F) -> F:
    fn = click.option("--version", "pub_version", type=click.IntRange(1), metavar="N",
                      help="With --as-published: that version (default: the latest).")(fn)
    return click.option("--as-published", "as_published", type=int, metavar="YEAR",
                        help="Print the figures exactly as published for YEAR ('stats publish'), recomputing "
                             "nothing.")(fn)


def _view(command: str, by: Sequence[str], *, layers: Sequence[str] = (), distance: float | None = None) -> str:
    """The published view a stats subcommand's options ask for (``events --by year --by adm1``)."""
    from safeground.services.stats_publish import RECORDS_SEARCH_M, view_key

    key = view_key(command, list(dict.fromkeys(by))) + "".join(f" --layer {x}" for x in layers)
    return key + (f" --distance {distance:g}" if distance not in (None, RECORDS_SEARCH_M) else "")


def as_published(view: Callable[[dict[str, Any]], str]) -> Callable[[F], F]:
    """Give a stats subcommand ``--as-published YEAR [--version N]``: print the published ``view(params)``
    (the stored document and text) instead of running the command. The stats group's options count too."""

    def decorate(fn: F) -> F:
        @functools.wraps(fn)
        def wrapper(*args: Any, as_published: int | None, pub_version: int | None, **kwargs: Any) -> Any:
            ctx = click.get_current_context()
            group = ctx.parent.params if ctx.parent else {}
            year, version = as_published or group.get("as_published"), pub_version or group.get("pub_version")
            if year is None:
                if version is not None:
                    raise click.UsageError("--version needs --as-published YEAR.")
                return fn(*args, **kwargs)
            clash = [f"--{n.replace('_', '-')}" for n in ("since", "until", "include_submitted") if kwargs.get(n)]
            if clash or group.get("include_submitted"):
                raise click.UsageError("--as-published prints the figures as they were published; drop "
                                       f"{', '.join(clash or ['--include-submitted'])}.")
            fmt = "json" if group.get("fmt") == "json" else kwargs.get("fmt") or "text"
            ctx.meta["safeground.format"] = fmt
            from safeground.services.stats_publish import published_view

            db, user = _stats_db(ctx, kwargs["db"], kwargs["user"])
            with workspace(db, user) as ws:
                doc, text = published_view(ws, year, version=version, view=view(kwargs))
            if kwargs.get("statement"):
                doc, text = doc["statement"], doc["statement"]["text"]
            emit(fmt, doc, text)

        return _published_options(wrapper)  # type: ignore[return-value]

    return decorate


@main.group(cls=SafeGroundGroup, invoke_without_command=True)
@db_options
@click.option("--include-submitted", is_flag=True, help="Count submitted records too (default: official only).")
@_published_options
@format_option
@click.pass_context
def stats(ctx: click.Context, db: str, user: str | None, include_submitted: bool, as_published: int | None,
          pub_version: int | None, fmt: str) -> None:
    """Summary of contamination, land release, devices, casualties and EORE.

    With --as-published YEAR, the publication of that year (and its subcommands print its figures).

    Example: safeground stats --db demo.gpkg --format json
    """
    if ctx.invoked_subcommand is not None:
        return
    from safeground.services.stats import render_text, summary
    from safeground.services.stats_publish import published_view

    if as_published is None and pub_version is not None:
        raise click.UsageError("--version needs --as-published YEAR.")
    if as_published is not None and include_submitted:
        raise click.UsageError("--as-published prints the figures as they were published; drop --include-submitted.")
    with workspace(db, user) as ws:
        if as_published is not None:
            doc, text = published_view(ws, as_published, version=pub_version)
            emit(fmt, doc, text)
            return
        doc = summary(ws, include_submitted=include_submitted)
    emit(fmt, doc, render_text(doc))


@stats.command("casualties")
@click.option("--since", metavar="DATE", help="First accident date counted (YYYY-MM-DD, inclusive).")
@click.option("--until", metavar="DATE", help="Last accident date counted (YYYY-MM-DD, inclusive).")
@click.option("--by", "by", multiple=True, metavar="DIMENSION",
              type=click.Choice(["year", "month", "adm1", "adm2", "device", "activity", "sex", "age_group", "status",
                                 "displacement"]),
              help="Break the figures down; repeat for a cross-tabulation.")
@click.option("--statement", is_flag=True, help="Print only the public sentence (needs --since).")
@db_options
@click.option("--include-submitted", is_flag=True, help="Count submitted records too (default: official only).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default=None, callback=_remember_format,
              is_eager=True, help="Output format (default: the stats group's); the JSON is documented in the README.")
@as_published(lambda p: _view("casualties", p["by"]))
@click.pass_context
def stats_casualties(ctx: click.Context, db: str, user: str | None, since: str | None, until: str | None,
                     by: tuple[str, ...], statement: bool, include_submitted: bool, fmt: str | None) -> None:
    """Casualties in Landmine Monitor's classification, each person once (confirmed duplicate links).

    Example: safeground stats casualties --db demo.gpkg --since 2020-11-10 --by year --by status
    """
    from safeground.domain.errors import ValidationError
    from safeground.services.stats_casualties import casualty_stats, render_text

    group = ctx.parent.params if ctx.parent else {}
    fmt = fmt or group.get("fmt") or "text"
    ctx.meta["safeground.format"] = fmt
    if statement and not since:
        raise ValidationError("stats.statement_needs_since", "--statement needs --since: the sentence starts "
                              "'Since <date>'.", hint="Add --since YYYY-MM-DD.")
    db, user = _stats_db(ctx, db, user)
    with workspace(db, user) as ws:
        doc = casualty_stats(ws, since=since, until=until, by=by,
                             include_submitted=include_submitted or bool(group.get("include_submitted")))
    if statement:
        emit(fmt, doc["statement"], doc["statement"]["text"])
    else:
        emit(fmt, doc, render_text(doc))


@stats.command("release")
@click.option("--since", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="First day counted (YYYY-MM-DD), on the date that counts.")
@click.option("--until", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Last day counted (YYYY-MM-DD), included.")
@click.option("--by", "by", multiple=True, type=click.Choice(["year", "adm1", "adm2", "organisation"]),
              help="Break released land down by this; repeat to combine (default: year).")
@db_options
@click.option("--include-submitted", is_flag=True, help="Count submitted records too (default: official only).")
@format_option
@as_published(lambda p: _view("release", p["by"] or ("year",)))
@click.pass_context
def stats_release(ctx: click.Context, db: str, user: str | None, since: dt.datetime | None,
                  until: dt.datetime | None, by: tuple[str, ...], include_submitted: bool, fmt: str) -> None:
    """Released land (cancelled, reduced, cleared), remaining SHA/CHA, devices destroyed, productivity and
    contamination labels.

    Example: safeground stats release --db demo.gpkg --by year --by adm1 --since 2020-01-01
    """
    from safeground.services.stats_release import release_stats, render_text

    group = ctx.parent.params if ctx.parent else {}
    fmt = "json" if group.get("fmt") == "json" else fmt
    db, user = _stats_db(ctx, db, user)
    with workspace(db, user) as ws:
        doc = release_stats(ws, since=since.date().isoformat() if since else None,
                            until=until.date().isoformat() if until else None, by=by or ("year",),
                            include_submitted=include_submitted or bool(group.get("include_submitted")))
    emit(fmt, doc, render_text(doc))


@stats.command(name="records")
@db_options
@click.option("--include-submitted", is_flag=True, help="Count submitted records too (default: official only).")
@click.option("--distance", "search_m", type=click.FloatRange(0, 10_000), default=500.0, show_default=True,
              help="Metres outside a record's perimeter within which a find still counts as the record's.")
@click.option("--rematch", is_flag=True, help="Recompute the stored minefield matches first, even if current.")
@format_option
@as_published(lambda p: _view("records", (), distance=p["search_m"]))
@click.pass_context
def stats_records(ctx: click.Context, db: str, user: str | None, include_submitted: bool, search_m: float,
                  rematch: bool, fmt: str) -> None:
    """Minefield-record accuracy: share of recorded mines found, finds outside the perimeter, mean offset.

    Example: safeground stats records --db demo.gpkg --distance 500 --format json
    """
    from safeground.services.stats_records import record_accuracy, render_text

    parent = ctx.parent.params if ctx.parent else {}
    include_submitted = include_submitted or bool(parent.get("include_submitted"))
    db, user = _stats_db(ctx, db, user)
    with workspace(db, user) as ws:
        doc = record_accuracy(ws, search_m=search_m, include_submitted=include_submitted, rematch=rematch)
    emit(fmt, doc, render_text(doc))


@stats.command(name="events")
@db_options
@click.option("--include-submitted", is_flag=True, help="Count submitted records too (default: official only).")
@click.option("--by", "by", multiple=True, type=click.Choice(["year", "month", "adm1", "adm2", "source_type", "layer"]),
              help="Group by these, in this order (repeatable; default: year).")
@click.option("--layer", "layers", multiple=True, type=click.Choice(["accident", "device", "event"]),
              help="Count only these layers (repeatable; default: accidents, devices and register events).")
@format_option
@as_published(lambda p: _view("events", p["by"] or ("year",), layers=p["layers"]))
@click.pass_context
def stats_events(ctx: click.Context, db: str, user: str | None, include_submitted: bool, by: tuple[str, ...],
                 layers: tuple[str, ...], fmt: str) -> None:
    """Accidents, devices found and register events counted as a register groups them.

    Example: safeground stats events --db colombia.gpkg --by year --by adm1 --by source_type
    """
    from safeground.services.stats_events import EVENT_LAYERS, event_counts, render_text

    parent = ctx.parent.params if ctx.parent else {}
    include_submitted = include_submitted or bool(parent.get("include_submitted"))
    db, user = _stats_db(ctx, db, user)
    with workspace(db, user) as ws:
        doc = event_counts(ws, by=by or ("year",), layers=layers or tuple(EVENT_LAYERS),
                           include_submitted=include_submitted)
    emit(fmt, doc, render_text(doc))


def _stats_context(ctx: click.Context, db: str, user: str | None, include_submitted: bool,
                   fmt: str | None) -> tuple[str, str | None, bool, str]:
    """A stats subcommand's database, user, scope and format, falling back on those given to ``stats``."""
    group = ctx.parent.params if ctx.parent else {}
    fmt = fmt or group.get("fmt") or "text"
    ctx.meta["safeground.format"] = fmt
    db, user = _stats_db(ctx, db, user)
    return db, user, include_submitted or bool(group.get("include_submitted")), fmt


def _sub_format(fn: F) -> F:
    return click.option("--format", "fmt", type=click.Choice(["text", "json"]), default=None,
                        callback=_remember_format, is_eager=True,
                        help="Output format (default: the stats group's); the JSON is documented in the README.")(fn)


@stats.command("eore")
@click.option("--since", metavar="DATE", help="First session date counted (YYYY-MM-DD, inclusive).")
@click.option("--until", metavar="DATE", help="Last session date counted (YYYY-MM-DD, inclusive).")
@click.option("--by", "by", multiple=True,
              type=click.Choice(["year", "month", "adm1", "adm2", "organisation", "method"]),
              help="Break the sessions down; repeat to combine.")
@db_options
@click.option("--include-submitted", is_flag=True, help="Count submitted records too (default: official only).")
@_sub_format
@click.pass_context
def stats_eore(ctx: click.Context, db: str, user: str | None, since: str | None, until: str | None,
               by: tuple[str, ...], include_submitted: bool, fmt: str | None) -> None:
    """EORE sessions and people reached (women, girls, boys, men), with sessions lacking a split shown.

    Example: safeground stats eore --db demo.gpkg --since 2024-01-01 --by adm1
    """
    from safeground.services.stats_outreach import eore_stats, render_text

    db, user, include_submitted, fmt = _stats_context(ctx, db, user, include_submitted, fmt)
    with workspace(db, user) as ws:
        doc = eore_stats(ws, since=since, until=until, by=by, include_submitted=include_submitted)
    emit(fmt, doc, render_text(doc))


@stats.command("assistance")
@click.option("--since", metavar="DATE", help="First referral date counted (YYYY-MM-DD, inclusive).")
@click.option("--until", metavar="DATE", help="Last referral date counted (YYYY-MM-DD, inclusive).")
@click.option("--by", "by", multiple=True,
              type=click.Choice(["service", "outcome", "year", "status", "sex", "age_group"]),
              help="Break the referrals down; repeat to combine.")
@db_options
@click.option("--include-submitted", is_flag=True, help="Count submitted records too (default: official only).")
@_sub_format
@click.pass_context
def stats_assistance(ctx: click.Context, db: str, user: str | None, since: str | None, until: str | None,
                     by: tuple[str, ...], include_submitted: bool, fmt: str | None) -> None:
    """Victim assistance referrals (IMAS 13.10) and people referred, each person once; aggregates only.

    Example: safeground stats assistance --db demo.gpkg --since 2024-01-01 --by service --by outcome
    """
    from safeground.services.stats_assistance import assistance_stats, render_text

    db, user, include_submitted, fmt = _stats_context(ctx, db, user, include_submitted, fmt)
    with workspace(db, user) as ws:
        doc = assistance_stats(ws, since=since, until=until, by=by, include_submitted=include_submitted)
    emit(fmt, doc, render_text(doc))


@stats.command("article7")
@click.option("--treaty", "treaty_code", required=True, type=click.Choice(["apmbc", "ccm"]),
              help="apmbc: the Mine Ban Treaty; ccm: the Convention on Cluster Munitions.")
@click.option("--year", type=int, default=None, help="Calendar year reported on (default: last year).")
@click.option("--out", "out", type=click.Path(file_okay=False),
              help="Also write one CSV file per table into this folder (never overwriting a file).")
@db_options
@click.option("--include-submitted", is_flag=True, help="Count submitted records too (default: official only).")
@_sub_format
@click.pass_context
def stats_article7(ctx: click.Context, db: str, user: str | None, treaty_code: str, year: int | None,
                   out: str | None, include_submitted: bool, fmt: str | None) -> None:
    """Article 7 transparency tables: contaminated and released areas, devices destroyed, risk education,
    victim assistance.

    Example: safeground stats article7 --treaty apmbc --year 2024 --out article7/ --db demo.gpkg
    """
    from safeground.services.stats_treaty import article7, render_text, write_csv

    db, user, include_submitted, fmt = _stats_context(ctx, db, user, include_submitted, fmt)
    with workspace(db, user) as ws:
        doc = article7(ws, treaty_code=treaty_code, year=year, include_submitted=include_submitted)
    written = write_csv(doc, out) if out else []
    if fmt == "json":
        emit(fmt, doc, "")
        for p in written:
            click.echo(f"Wrote {p}", err=True)
    else:
        emit(fmt, doc, render_text(doc) + "".join(f"\nWrote {p}" for p in written))


@stats.command(name="publish")
@click.option("--year", type=int, required=True, help="The calendar year whose figures are published.")
@click.option("--note", metavar="TEXT", help="Why, or for whom (kept with the publication).")
@db_options
@click.option("--include-submitted", is_flag=True, help="Count submitted records too (default: official only).")
@format_option
@click.pass_context
def stats_publish(ctx: click.Context, year: int, note: str | None, db: str, user: str | None,
                  include_submitted: bool, fmt: str) -> None:
    """Freeze the official figures of a calendar year as its next version; changes no record.

    Example: safeground stats publish --year 2023 --note "Article 7 report" --db demo.gpkg
    """
    from safeground.services.stats_publish import publish, render_publication

    parent = ctx.parent.params if ctx.parent else {}
    fmt = "json" if parent.get("fmt") == "json" else fmt
    db, user = _stats_db(ctx, db, user)
    with workspace(db, user) as ws:
        doc = publish(ws, year, note=note, include_submitted=include_submitted or bool(parent.get("include_submitted")))
    emit(fmt, doc, render_publication(doc))


@stats.command(name="revisions")
@click.option("--year", type=int, default=None, help="Only this published year (default: every one).")
@db_options
@format_option
@click.pass_context
def stats_revisions(ctx: click.Context, year: int | None, db: str, user: str | None, fmt: str) -> None:
    """What changed since publication: figures that now differ, and the records of the year changed since.

    Example: safeground stats revisions --year 2023 --db demo.gpkg
    """
    from safeground.services.stats_publish import render_revisions, revisions

    parent = ctx.parent.params if ctx.parent else {}
    fmt = "json" if parent.get("fmt") == "json" else fmt
    db, user = _stats_db(ctx, db, user)
    with workspace(db, user) as ws:
        doc = revisions(ws, year=year)
    emit(fmt, doc, render_revisions(doc))


@main.command()
@db_options
@click.option("--overlap", type=click.FloatRange(0, 1), default=0.5, show_default=True,
              help="Flag hazard areas overlapping by more than this share of the smaller one.")
@click.option("--same-place-km", type=click.FloatRange(0), default=1.0, show_default=True,
              help="Casualties of accidents on the same date this close (or in the same admin area) may be one "
                   "person.")
@click.option("--name-similarity", type=click.FloatRange(0, 100), default=85.0, show_default=True,
              help="How alike (0-100) two casualties' names must be to propose them as one person.")
@format_option
def check(db: str, user: str | None, overlap: float, same_place_km: float, name_similarity: float, fmt: str) -> None:
    """Data-quality checks: quarantined rows, broken polygons, swapped or far-off coordinates, dates,
    duplicate hazards and casualties, devices outside any work area.

    Probable duplicate casualties are kept as proposed duplicate links (once) for 'safeground duplicates'.
    Findings show refs, never names.

    Example: safeground check --db demo.gpkg --format json
    """
    from safeground.services.quality import run_checks

    with workspace(db, user) as ws:
        findings = run_checks(ws, overlap=overlap, same_place_km=same_place_km, name_similarity=name_similarity)
    docs = [f.to_dict() for f in findings]
    lines = [f"{len(findings)} findings."]
    lines += [f"{f.check:<20} {f.ref or f.layer or '':<12} {f.problem} {f.action}" for f in findings]
    emit(fmt, {"findings": docs, "count": len(docs)}, "\n".join(lines))


@main.group(cls=SafeGroundGroup)
def duplicates() -> None:
    """Probable duplicate records (from imports and 'check'): list them, confirm or reject each.

    A confirmed link means the two records are one (one person, one event); statistics count them once.
    """


@duplicates.command("list")
@db_options
@click.option("--layer", type=click.Choice(LAYERS), help="Only links of this layer.")
@click.option("--status", type=click.Choice(["proposed", "confirmed", "rejected"]), help="Only links in this state.")
@format_option
def duplicates_list(db: str, user: str | None, layer: str | None, status: str | None, fmt: str) -> None:
    """List duplicate links with the refs of both records (never names).

    Example: safeground duplicates list --db demo.gpkg --status proposed
    """
    from safeground.services.duplicates import list_links

    with workspace(db, user) as ws:
        links = list_links(ws, layer=layer, status=status)
    lines = [f"{len(links)} duplicate links."]
    lines += [f"{lk['id']:>6} {lk['status']:<9} {lk['ref'] or lk['uuid']} ~ "
              f"{lk['duplicate_of_ref'] or lk['duplicate_of']} ({lk['kind']}: {lk['reason']})" for lk in links]
    emit(fmt, {"links": links, "count": len(links)}, "\n".join(lines))


def _decide(db: str, user: str | None, link_id: int, decision: str, fmt: str) -> None:
    from safeground.services.duplicates import decide

    with workspace(db, user) as ws:
        link = decide(ws, link_id, decision)
    emit(fmt, link, f"Link {link_id}: {link['ref']} ~ {link['duplicate_of_ref']} {decision} by {link['decided_by']}.")


@duplicates.command("confirm")
@click.argument("link_id", type=int)
@db_options
@format_option
def duplicates_confirm(link_id: int, db: str, user: str | None, fmt: str) -> None:
    """Confirm a proposed link: the two records are one (one person, one event).

    Example: safeground duplicates confirm 12 --db demo.gpkg
    """
    _decide(db, user, link_id, "confirmed", fmt)


@duplicates.command("reject")
@click.argument("link_id", type=int)
@db_options
@format_option
def duplicates_reject(link_id: int, db: str, user: str | None, fmt: str) -> None:
    """Reject a proposed link: the two records are different.

    Example: safeground duplicates reject 12 --db demo.gpkg
    """
    _decide(db, user, link_id, "rejected", fmt)


@main.group(cls=SafeGroundGroup)
def minefields() -> None:
    """Minefield records handed over or found in archives, against what the ground showed."""


@minefields.command(name="match")
@db_options
@click.option("--distance", "search_m", type=click.FloatRange(0, 10_000), default=500.0, show_default=True,
              help="Metres outside a record's perimeter within which a find still counts as the record's.")
@format_option
def minefields_match(db: str, user: str | None, search_m: float, fmt: str) -> None:
    """Match each minefield record with the TS/clearance that worked it and the devices found in or near it.

    Example: safeground minefields match --db demo.gpkg --distance 300
    """
    from safeground.services.minefields import match_minefield_records

    with workspace(db, user) as ws:
        results = match_minefield_records(ws, search_m=search_m)
    lines = [f"{len(results)} minefield records matched (finds up to {search_m:g} m outside a perimeter).",
             f"{'record':<10} {'grade':<8} {'recorded':>8} {'worked':>7} {'inside':>7} {'outside':>8} {'offset':>8}"]
    for r in results:
        worked = f"{r.worked_share:.0%}"
        offset = "" if r.mean_offset_m is None else f"{r.mean_offset_m:.0f} m"
        lines.append(f"{r.ref:<10} {r.reliability:<8} {r.mines_recorded if r.mines_recorded is not None else '':>8} "
                     f"{worked:>7} {r.found_inside:>7} {r.found_outside:>8} {offset:>8}")
    emit(fmt, {"search_m": search_m, "records": [r.to_dict() for r in results]}, "\n".join(lines))


@main.group(cls=SafeGroundGroup)
def quarantine() -> None:
    """Rows an import could not store: export them to fix, then import the fixed file again."""


@quarantine.command(name="export")
@db_options
@click.option("--to", "target", required=True, type=click.Path(dir_okay=False),
              help="New CSV file: the rows' original columns, then quarantine_id and quarantine_reason.")
@click.option("--import-run", help="Only the rows of this import run.")
@click.option("--source", help="Only the rows of this source file (its name, as 'safeground check' shows it).")
@format_option
def quarantine_export(db: str, user: str | None, target: str, import_run: str | None, source: str | None,
                      fmt: str) -> None:
    """Write open quarantine entries to a CSV file; fix it and import it with the same --mapping.

    Example: safeground quarantine export --to fix.csv --db colombia.gpkg
    """
    from safeground.services.quarantine import export_quarantine

    with workspace(db, user) as ws:
        n = export_quarantine(ws, target, import_run=import_run, source=source)
    emit(fmt, {"file": target if n else None, "rows": n},
         f"Exported {n} quarantined rows to {target}." if n else "No open quarantine entries: nothing written.")


@main.command()
@db_options
@click.option("--to", "target", required=True, type=click.Path(dir_okay=False), help="Backup file (new).")
@format_option
def backup(db: str, user: str | None, target: str, fmt: str) -> None:
    """Copy the whole database, consistently, with SQLite's backup API.

    Example: safeground backup --db demo.gpkg --to demo-2026-11-28.gpkg
    """
    with workspace(db, user) as ws:
        ws.store.backup(target)
    size = Path(target).stat().st_size
    emit(fmt, {"database": db, "backup": target, "bytes": size}, f"Backed up {db} to {target} ({size:,} bytes).")


@main.command()
@click.argument("backup_file", metavar="BACKUP", type=click.Path(exists=True, dir_okay=False))
@db_options
@format_option
def restore(backup_file: str, db: str, user: str | None, fmt: str) -> None:
    """Restore a backup into an EMPTY database of the same kind (a new .gpkg path, or an empty PostgreSQL database).

    Example: safeground restore demo-2026-11-28.gpkg --db demo-restored.gpkg
    """
    from safeground.services.backup import restore_backup

    done = restore_backup(backup_file, db)
    emit(fmt, done, f"Restored {backup_file} into {done['database']}: {done['records']:,} records, "
                    f"{done['audit_rows']:,} audit rows, schema version {done['schema_version']}.")


# --- paperwork ---------------------------------------------------------------------------------------
@main.group(cls=SafeGroundGroup)
def document() -> None:
    """Paperwork from the records, as PDF (or HTML): task orders, completion reports, handover certificates."""


def _paper_options(fn: F) -> F:
    fn = format_option(fn)
    fn = click.option("--date", "issued", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
                      help="Issue date printed on the document (default: today).")(fn)
    fn = click.option("--html", "as_html", is_flag=True, help="Write HTML instead of PDF (also chosen by an .html "
                                                               "--out).")(fn)
    fn = click.option("--out", "target", required=True, type=click.Path(dir_okay=False),
                      help="New .pdf or .html file (never overwritten).")(fn)
    return db_options(fn)


def _issue(fmt: str, doc: dict[str, Any], target: str, as_html: bool, started: float) -> None:
    import time

    from safeground.reports.paperwork import write_document

    path = write_document(doc, target, html=as_html)
    seconds = round(time.perf_counter() - started, 2)
    kind = doc["document"].replace("_", " ")
    emit(fmt, {"document": doc["document"], "file": str(path), "format": path.suffix.lstrip(".").lower(),
               "draft": doc["draft"], "seconds": seconds},
         f"Wrote the {kind}{' (draft)' if doc['draft'] else ''} to {path} in {seconds:.1f} s.")


@document.command("task-order")
@click.argument("hazard_ref")
@click.option("--team", "team_ref", metavar="TEAM_REF",
              help="Team tasked (e.g. TM-000003); default: the team of the hazard's open activity.")
@click.option("--method", type=click.Choice(["nts", "ts", "clearance", "bac", "eod_spot_task"]),
              help="What the team does; default: the open activity's, else by team (NTS team: nts; others: clearance "
                   "on a CHA, ts otherwise).")
@click.option("--asset", "assets", multiple=True, type=click.Choice(["manual", "mechanical", "mdd", "detector", "bac"]),
              help="Asset to use, repeatable; default: the open activity's, else the team's.")
@click.option("--depth-cm", type=click.FloatRange(min=0, min_open=True),
              help="Clearance depth; default: the open activity's, else the national standard.")
@click.option("--start", type=click.DateTime(formats=["%Y-%m-%d"]), help="Start date (default: the open activity's, "
                                                                          "else the issue date).")
@click.option("--end", type=click.DateTime(formats=["%Y-%m-%d"]), help="Planned end date.")
@click.option("--nearby", "nearby_m", type=click.FloatRange(0, 50_000), default=1000.0, show_default=True,
              help="List accidents within this many metres of the hazard.")
@click.option("--include-submitted", is_flag=True, help="Use submitted records too (the document says DRAFT).")
@_paper_options
def document_task_order(hazard_ref: str, team_ref: str | None, method: str | None, assets: tuple[str, ...],
                        depth_cm: float | None, start: dt.datetime | None, end: dt.datetime | None, nearby_m: float,
                        include_submitted: bool, db: str, user: str | None, target: str, as_html: bool,
                        issued: dt.datetime | None, fmt: str) -> None:
    """Task order for a team on a hazard: the hazard, a site map, its turning points (decimal degrees, DMS,
    MGRS, bearing and distance), benchmarks, method and assets, devices expected and the evidence so far.

    Example: safeground document task-order HA-000012 --team TM-000003 --out task_order.pdf --db demo.gpkg
    """
    import time

    from safeground.services.paperwork import task_order

    started = time.perf_counter()
    with workspace(db, user) as ws:
        doc = task_order(ws, hazard_ref, team_ref=team_ref, method=method, assets=list(assets) or None,
                         depth_cm=depth_cm, start=start.date().isoformat() if start else None,
                         end=end.date().isoformat() if end else None, include_submitted=include_submitted,
                         nearby_m=nearby_m, issued=issued.date().isoformat() if issued else None)
    _issue(fmt, doc, target, as_html, started)


@document.command("completion-report")
@click.argument("activity_ref")
@click.option("--include-submitted", is_flag=True, help="Use submitted records too (the document says DRAFT).")
@_paper_options
def document_completion_report(activity_ref: str, include_submitted: bool, db: str, user: str | None, target: str,
                               as_html: bool, issued: dt.datetime | None, fmt: str) -> None:
    """Completion report of an activity: team, organisation, dates, method, land cancelled/reduced/cleared,
    devices found and destroyed, QA/QC inspections, team-days and m² per team-day, and a map.

    Example: safeground document completion-report AC-000103 --out completion.pdf --db demo.gpkg
    """
    import time

    from safeground.services.paperwork import completion_report

    started = time.perf_counter()
    with workspace(db, user) as ws:
        doc = completion_report(ws, activity_ref, include_submitted=include_submitted,
                                issued=issued.date().isoformat() if issued else None)
    _issue(fmt, doc, target, as_html, started)


@document.command("handover-certificate")
@click.argument("ref", metavar="HAZARD_REF|ACTIVITY_REF")
@click.option("--contact", help="Who to call if an item is found (default: the national authority, the police "
                                "or the nearest military post).")
@_paper_options
def document_handover_certificate(ref: str, contact: str | None, db: str, user: str | None, target: str,
                                  as_html: bool, issued: dt.datetime | None, fmt: str) -> None:
    """Handover certificate (IMAS 08.30) for the land released on a hazard or by an activity: released polygons,
    benchmarks and turning points, residual risk, who to call, signature fields. Refused while any of the land
    awaits QC or approval: a certificate certifies only what the official records release.

    Example: safeground document handover-certificate HA-000005 --out handover.pdf --db demo.gpkg
    """
    import time

    from safeground.services.paperwork import handover_certificate

    started = time.perf_counter()
    with workspace(db, user) as ws:
        doc = handover_certificate(ws, ref, contact=contact, issued=issued.date().isoformat() if issued else None)
    _issue(fmt, doc, target, as_html, started)


@main.command()
@db_options
@click.option("--year", required=True, type=int, help="Calendar year the report covers (1 January to 31 December).")
@click.option("--out", "target", required=True, type=click.Path(dir_okay=False),
              help="New file: FILE.pdf (WeasyPrint) or FILE.html (one self-contained page).")
@click.option("--include-submitted", is_flag=True, help="Count submitted records too (default: official only).")
@format_option
def report(db: str, user: str | None, year: int, target: str, include_submitted: bool, fmt: str) -> None:
    """National situation report for a year: casualties, land release, operations, records, EORE, quality.

    Opens the database read-only. Example: safeground report --db demo.gpkg --year 2024 --out report-2024.pdf
    """
    from safeground.reports.situation import check_year, report_format, write_report

    check_year(year)
    report_format(target)
    ws = Workspace.open(db, user=user, read_only=True)
    try:
        doc = write_report(ws, year, target, include_submitted=include_submitted)
    finally:
        ws.close()
    emit(fmt, doc, f"Wrote the {year} situation report to {doc['report']} ({doc['bytes']:,} bytes, "
                   f"{len(doc['sections'])} sections) in {doc['seconds']:.1f} s.")


@main.command()
@click.option("--db", default="demo.gpkg", show_default=True, type=click.Path(dir_okay=False),
              help="The database to serve (must exist).")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; 0.0.0.0 serves the whole network.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535),
              help="Port to listen on (0: any free port, printed at start).")
@click.option("--read-only", is_flag=True, help="Open the database read-only (a public mirror).")
@click.option("--rate-limit", default="60/minute", show_default=True, metavar="N/PERIOD",
              help="Requests per client to the public API (e.g. 60/minute; 'none': no limit).")
@click.option("--tile-rate-limit", default="1200/minute", show_default=True, metavar="N/PERIOD",
              help="Requests per client for the public map's tiles ('none': no limit).")
@click.option("--trust-proxy", "trust_proxy", multiple=True, metavar="IP",
              help="A reverse proxy whose X-Forwarded-For names the client (repeat; '*' for any). Default: none.")
@click.option("--tile-cache", type=click.Path(dir_okay=False), default=None,
              help="The map's tile cache file (default: DB.tiles; public tiles beside it, .public.tiles).")
@click.option("--tile-refresh", "tile_refresh", default=30.0, show_default=True, type=click.FloatRange(min=0),
              metavar="SECONDS", help="Render again the cached tiles that edits touched this often (0: only when "
                                      "asked for).")
def serve(db: str, host: str, port: int, read_only: bool, rate_limit: str, tile_rate_limit: str,
          trust_proxy: tuple[str, ...], tile_cache: str | None, tile_refresh: float) -> None:
    """Serve the web application and its API on the database.

    Example: safeground serve --db demo.gpkg --port 8000   (then open http://127.0.0.1:8000/api)
    """
    import uvicorn

    from safeground.web.app import create_app

    def limit(text: str) -> str | None:
        return None if text.strip().lower() in ("none", "off", "0") else text

    app = create_app(db, read_only=read_only, rate_limit=limit(rate_limit), tile_rate_limit=limit(tile_rate_limit),
                     trusted_proxies=list(trust_proxy) or None, tile_cache=tile_cache,
                     tile_refresh_s=tile_refresh or None)
    # the app decides whom to trust for X-Forwarded-For (--trust-proxy), not uvicorn's default of 127.0.0.1
    uvicorn.run(app, host=host, port=port, log_level="info", proxy_headers=False)


# --- map tiles -------------------------------------------------------------------------------------------
@main.group("tiles", cls=SafeGroundGroup)
def tiles_group() -> None:
    """The web map's vector tile caches: DB.tiles (signed-in map) and DB.public.tiles (public page)."""


@tiles_group.command("build")
@click.option("--minzoom", default=0, show_default=True, type=click.IntRange(0, 14), help="First zoom to render.")
@click.option("--maxzoom", default=12, show_default=True, type=click.IntRange(0, 14),
              help="Last zoom to render (deeper tiles render when first asked for).")
@click.option("--tile-cache", type=click.Path(dir_okay=False), default=None,
              help="The map's tile cache file, as given to serve (default: DB.tiles; public tiles beside it).")
@db_options
@format_option
def tiles_build(minzoom: int, maxzoom: int, tile_cache: str | None, db: str, user: str | None, fmt: str) -> None:
    """Render the map's tiles ahead of use, so that the first views are served from the cache.

    Both caches are built: every layer for the signed-in map, the generalised public hazards for the public page.
    Tiles stay current without this (the server renders a stale or missing tile when asked for, and renders edited
    tiles again in the background); build again after a large import to keep first views fast.

    Example: safeground tiles build --db demo.gpkg --maxzoom 10
    """
    import time

    from safeground.services import tiles as map_tiles
    from safeground.store.tile_cache import TileCache
    from safeground.web.shared import tile_cache_paths

    if minzoom > maxzoom:
        raise ValidationError("tiles.bad_zoom_range", f"--minzoom {minzoom} is above --maxzoom {maxzoom}.",
                              hint="Give --minzoom at most --maxzoom, e.g. --minzoom 0 --maxzoom 12.")
    started = time.perf_counter()
    doc: dict[str, Any] = {"zooms": [minzoom, maxzoom], "caches": {}}
    with workspace(db, user) as ws:
        for (name, layers), path in zip((("map", map_tiles.LAYERS), ("public", map_tiles.PUBLIC_LAYERS)),
                                        tile_cache_paths(ws.store.location, tile_cache), strict=True):
            cache = TileCache(path)
            try:
                stored = map_tiles.build_cache(ws, minzoom=minzoom, maxzoom=maxzoom, cache=cache, layers=layers)
            finally:
                cache.close()
            doc["caches"][name] = {"file": path, "tiles": stored}
    doc["seconds"] = round(time.perf_counter() - started, 1)
    lines = [f"{name}: {sum(c['tiles'].values()):,} tiles in {c['file']} ("
             + ", ".join(f"{layer} {n:,}" for layer, n in c["tiles"].items()) + ")"
             for name, c in doc["caches"].items()]
    emit(fmt, doc, "\n".join(lines) + f"\nRendered zooms {minzoom}-{maxzoom} in {doc['seconds']} s.")


# --- users and roles -------------------------------------------------------------------------------------
@main.group(cls=SafeGroundGroup)
def users() -> None:
    """Users, roles, area restrictions and API tokens (for the web app; the CLI trusts whoever can write the file).

    Roles: viewer, data_entry, qa, admin (see the README's roles table).
    """


def _read_password(password_stdin: bool) -> str:
    """From stdin (one line, for scripts) or a hidden prompt asked twice; never from the command line."""
    if password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return str(click.prompt("Password", hide_input=True, confirmation_prompt=True))


def _user_line(u: Any) -> str:
    areas = ",".join(u.areas) if u.areas else "whole country"
    state = f"retired {u.retired_at[:10]}" if u.retired_at else "active"
    return f"{u.username:<20} {u.role.value:<11} {state:<18} {areas:<20} {u.display_name or ''}"


_password_stdin = click.option("--password-stdin", is_flag=True,
                               help="Read the password from the first line of stdin instead of a prompt.")


@users.command("add")
@click.argument("username")
@click.option("--role", required=True, type=click.Choice(["viewer", "data_entry", "qa", "admin"]),
              help="What the user may do (see the README's roles table).")
@click.option("--name", "display_name", help="Name shown for the user, e.g. 'Ana Gómez'.")
@click.option("--area", "areas", multiple=True, metavar="CODE",
              help="Restrict to this admin area code (repeatable; none: the whole country).")
@_password_stdin
@db_options
@format_option
def users_add(username: str, role: str, display_name: str | None, areas: tuple[str, ...], password_stdin: bool,
              db: str, user: str | None, fmt: str) -> None:
    """Add a user; the password is asked twice (or read from stdin), never given on the command line.

    Example: safeground users add ana --role qa --name "Ana Gómez" --area XS01 --db demo.gpkg
    """
    from safeground.services.users import add_user

    password = _read_password(password_stdin)
    with workspace(db, user) as ws:
        added = add_user(ws, username, role, password, display_name=display_name, areas=list(areas))
    emit(fmt, added.to_dict(), f"Added {added.username} ({added.role.value}"
         + (f", restricted to {', '.join(added.areas)}" if added.areas else "") + ").")


@users.command("list")
@click.option("--active", "active_only", is_flag=True, help="Leave out retired users.")
@db_options
@format_option
def users_list(active_only: bool, db: str, user: str | None, fmt: str) -> None:
    """List users with their role, state and area restriction (never a password or token hash).

    Example: safeground users list --db demo.gpkg --format json
    """
    from safeground.services.users import list_users

    with workspace(db, user) as ws:
        found = list_users(ws, include_retired=not active_only)
    lines = [f"{'username':<20} {'role':<11} {'state':<18} {'areas':<20} name", *(_user_line(u) for u in found)]
    emit(fmt, {"count": len(found), "users": [u.to_dict() for u in found]},
         "\n".join(lines) if found else "No users yet: add one with 'safeground users add USERNAME --role admin'.")


@users.command("set")
@click.argument("username")
@click.option("--role", type=click.Choice(["viewer", "data_entry", "qa", "admin"]), help="New role.")
@click.option("--name", "display_name", help="New name shown for the user.")
@click.option("--area", "areas", multiple=True, metavar="CODE", help="Restrict to these admin area codes (repeatable; "
                                                                      "replaces the restriction).")
@click.option("--all-areas", is_flag=True, help="Lift the area restriction (the whole country).")
@click.option("--password", "new_password", is_flag=True, help="Set a new password (asked twice, or --password-stdin).")
@_password_stdin
@db_options
@format_option
def users_set(username: str, role: str | None, display_name: str | None, areas: tuple[str, ...], all_areas: bool,
              new_password: bool, password_stdin: bool, db: str, user: str | None, fmt: str) -> None:
    """Change a user's role, name, area restriction or password (each change audited).

    Example: safeground users set ana --role admin --all-areas --db demo.gpkg
    """
    from safeground.services import users as svc

    if areas and all_areas:
        raise click.UsageError("Give --area or --all-areas, not both.")
    if not (role or display_name is not None or areas or all_areas or new_password or password_stdin):
        raise click.UsageError("Nothing to change: give --role, --name, --area, --all-areas or --password.")
    password = _read_password(password_stdin) if new_password or password_stdin else None
    with workspace(db, user) as ws, ws.store.transaction():
        if role:
            svc.set_role(ws, username, role)
        if display_name is not None:
            svc.set_display_name(ws, username, display_name)
        if areas or all_areas:
            svc.restrict_areas(ws, username, list(areas))
        if password is not None:
            svc.set_password(ws, username, password)
        changed = svc.get_user(ws, username)
    emit(fmt, changed.to_dict(), _user_line(changed))


@users.command("retire")
@click.argument("username")
@click.option("--reason", help="Why, e.g. 'left the programme'.")
@db_options
@format_option
def users_retire(username: str, reason: str | None, db: str, user: str | None, fmt: str) -> None:
    """Retire a user: they can no longer sign in, and their API tokens are revoked. Nothing is deleted.

    Example: safeground users retire ana --reason "left the programme" --db demo.gpkg
    """
    from safeground.services.users import retire_user

    with workspace(db, user) as ws:
        retired = retire_user(ws, username, reason=reason)
    emit(fmt, retired.to_dict(), f"Retired {retired.username}; their API tokens are revoked.")


@users.command("token")
@click.argument("username")
@click.option("--name", "token_name", help="What the token is for, e.g. 'QGIS office laptop'.")
@db_options
@format_option
def users_token(username: str, token_name: str | None, db: str, user: str | None, fmt: str) -> None:
    """Make an API token for a user and print it once (only its SHA-256 is kept).

    Example: safeground users token ana --name "QGIS office laptop" --db demo.gpkg
    """
    from safeground.services.users import create_token

    with workspace(db, user) as ws:
        token, info = create_token(ws, username, name=token_name)
    emit(fmt, {**info, "token": token}, f"{token}\nAPI token {info['uuid']} for {username}"
         + (f" ({info['name']})" if info["name"] else "") + ". Copy it now: it is not shown again.")


@users.command("tokens")
@click.argument("username")
@db_options
@format_option
def users_tokens(username: str, db: str, user: str | None, fmt: str) -> None:
    """List a user's API tokens: id, name, created, last used, revoked (never the token).

    Example: safeground users tokens ana --db demo.gpkg
    """
    from safeground.services.users import list_tokens

    with workspace(db, user) as ws:
        found = list_tokens(ws, username)
    lines = [f"{t['uuid']}  {t['name'] or '':<24} created {t['created_at'][:10]}  last used "
             f"{(t['last_used_at'] or 'never')[:10]:<10}  "
             + (f"revoked {t['revoked_at'][:10]}" if t["revoked_at"] else "") for t in found]
    emit(fmt, {"count": len(found), "tokens": found}, "\n".join(lines) or f"{username} has no API tokens.")


@users.command("revoke-token")
@click.argument("token_id")
@db_options
@format_option
def users_revoke_token(token_id: str, db: str, user: str | None, fmt: str) -> None:
    """Revoke an API token by its id (from 'safeground users tokens USERNAME').

    Example: safeground users revoke-token 019393c1-7c3e-7a5e-8b1d-2f6c0e4d9a10 --db demo.gpkg
    """
    from safeground.services.users import revoke_token

    with workspace(db, user) as ws:
        info = revoke_token(ws, token_id)
    emit(fmt, info, f"Revoked API token {info['uuid']} on {info['revoked_at'][:10]}.")


# --- risk: contamination risk prediction (issue 6) -------------------------------------------------------------
@main.group(cls=SafeGroundGroup)
def risk() -> None:
    """Contamination risk prediction: evaluate against distance baselines, fit, predict, surfaces over the
    study area, survey targets; list and adopt stored runs."""


def layer_options(f: Any) -> Any:
    """``--layer KIND=FILE[:LAYER]`` (repeatable) and ``--no-layers``: the context layers of the risk features."""
    f = click.option("--no-layers", "no_layers", is_flag=True,
                     help="Use no context layers, not even the configuration's risk.layers.")(f)
    return click.option("--layer", "layer", multiple=True, metavar="KIND=FILE[:LAYER]",
                        help="A context layer measured for every cell (repeatable): KIND is contact, road, water, "
                             "settlement, military or bridge; FILE any vector file (settlement=db: the "
                             "database's settlements). Default: the configuration's risk.layers.")(f)


_SCORE_COLUMNS = (("roc_auc", "ROC-AUC"), ("pr_auc", "PR-AUC"), ("recall_5pct", "recall@5%"),
                  ("recall_10pct", "recall@10%"), ("brier", "Brier"), ("calibration_error", "calib.err"))


@risk.command("evaluate")
@click.option("--cells", type=click.Path(dir_okay=False), help="Cell table: CSV or GeoPackage.")
@click.option("--label", help="Label column: 1 found, 0 released with nothing found, else unknown.")
@click.option("--group", help="Group column for leave-one-group-out (e.g. the municipality).")
@click.option("--walk-forward", "walk", metavar="Y1,Y2,Y3",
              help="Instead of a cell table: a grid over the study area; fit with evidence up to Y1 and records "
                   "of Y1+1..Y2 as positives, predict as of Y2, score on records of Y2+1..Y3.")
@click.option("--cell-size", type=click.FloatRange(min=1), default=5000, show_default=True,
              help="With --walk-forward: grid cell size in metres.")
@click.option("--area", help="With --walk-forward: lon,lat,lon,lat or an admin area's code (default: the "
                             "national outline).")
@click.option("--id", "id_column", help="Cell id column (default: the row number, from 1).")
@click.option("--unknown-value", type=float, default=-1, show_default=True, help="Label value meaning unknown.")
@click.option("--drop", multiple=True, metavar="COL", help="Leave this column out of the features (repeatable).")
@click.option("--monotone", multiple=True, metavar="COL|PATTERN",
              help="Also keep risk from rising with this column (repeatable; e.g. '*_dist'). Evidence distances "
                   "always are.")
@click.option("--evidence", is_flag=True, help="Add evidence features from the database (needs --as-of).")
@click.option("--as-of", type=click.DateTime(formats=["%Y-%m-%d"]), help="Use only evidence known by this date.")
@click.option("--trees", type=click.IntRange(10, 5000), default=200, show_default=True, help="Trees per model.")
@click.option("--seed", type=int, default=1, show_default=True, help="Random seed of the model.")
@click.option("--boost-from-distance", is_flag=True,
              help="Start the trees from the best evidence distance's log-odds (see docs/design.md).")
@layer_options
@db_options
@format_option
def risk_evaluate(cells: str | None, label: str | None, group: str | None, walk: str | None, cell_size: float,
                  area: str | None, id_column: str | None, unknown_value: float,
                  drop: tuple[str, ...], monotone: tuple[str, ...], evidence: bool, as_of: dt.datetime | None,
                  trees: int, seed: int, boost_from_distance: bool, layer: tuple[str, ...], no_layers: bool, db: str,
                  user: str | None, fmt: str) -> None:
    """Leave-one-group-out evaluation of the model beside every distance baseline; stored as a run.

    Example: safeground risk evaluate --cells antioquia_train_all.csv --label mines_outcome --group Municipio
    --evidence --as-of 2014-12-31 --db colombia.gpkg

    Or walk forward in time over a grid: safeground risk evaluate --walk-forward 2004,2009,2014 --cell-size 5000
    --db colombia.gpkg
    """
    from safeground.services.risk_layers import layers_for
    from safeground.services.risk_model import ModelSettings
    from safeground.services.risk_runs import evaluate_cells

    settings = ModelSettings(trees=trees, seed=seed, monotone=monotone, start_from_baseline=boost_from_distance)
    if walk:
        from safeground.services.risk_walk_forward import parse_years, walk_forward

        with workspace(db, user) as ws:
            wf = walk_forward(ws, parse_years(walk), cell_size=cell_size, area=area, settings=settings,
                              progress=progress_bar(), layers=layers_for(ws, layer, use_layers=not no_layers))
        y1, y2, y3 = wf.years
        width = max(len(r["score"]) for r in wf.table)
        text = [f"Walk-forward over {wf.area}: {wf.cells:,} cells; fitted with evidence up to {y1}, "
                f"{wf.train_positive:,} cells with a record of {y1 + 1}-{y2} positive, the others unlabelled "
                f"(positive-unlabelled); predicted as of {y2}; scored on the {wf.test_positive:,} cells with a "
                f"record of {y2 + 1}-{y3}.",
                f"{'score':<{width}}  {'ROC-AUC':>9}  {'recall@5%':>9}  {'recall@10%':>10}"]
        text += [f"{r['score']:<{width}}  {r['roc_auc']:>9.3f}  {r['recall_5pct']:>9.3f}  {r['recall_10pct']:>10.3f}"
                 for r in wf.table]
        best = max(wf.table[1:], key=lambda r: r["recall_10pct"]) if len(wf.table) > 1 else wf.table[0]
        served = wf.table[0]
        text.append(f"Served (chosen on {y1 + 1}-{y2} only): {wf.served}. "
                    + (f"The baseline {best['score']} finds more of the {y2 + 1}-{y3} cells in the top 10% "
                       f"({best['recall_10pct']:.1%} against {served['recall_10pct']:.1%})."
                       if best["recall_10pct"] > served["recall_10pct"] else
                       f"No baseline finds more of the {y2 + 1}-{y3} cells in the top 10% "
                       f"({served['recall_10pct']:.1%})."))
        text.append(f"Stored as run {wf.run['id']} (evaluate: never current).")
        emit(fmt, wf.to_dict(), "\n".join(text))
        return
    if not (cells and label and group):
        raise click.UsageError("Give --cells, --label and --group, or --walk-forward Y1,Y2,Y3.")
    with workspace(db, user) as ws:
        result = evaluate_cells(ws, cells, label=label, group=group, id_column=id_column,
                                unknown_value=unknown_value, drop=drop, evidence=evidence,
                                as_of=as_of.date() if as_of else None, settings=settings,
                                progress=progress_bar(), layers=layers_for(ws, layer, use_layers=not no_layers))
    ev = result.evaluation
    width = max(len(r["score"]) for r in ev.table())
    lines = [f"{ev.cells} cells ({ev.label_counts['positive']} positive, {ev.label_counts['negative']} negative, "
             f"{ev.label_counts['unknown']} unknown, never used as negatives); {ev.split}.",
             f"{'score':<{width}}  " + "  ".join(f"{h:>10}" for _, h in _SCORE_COLUMNS)]
    for row in ev.table():
        lines.append(f"{row['score']:<{width}}  " + "  ".join(f"{row[k]:>10.3f}" for k, _ in _SCORE_COLUMNS))
    lines.append(ev.verdict)
    cols = result.table.report
    if cols.text_left_out or cols.empty_left_out or cols.not_numbers:
        lines.append(f"Columns left out: text {cols.text_left_out or '-'}, empty {cols.empty_left_out or '-'}; "
                     f"values that were not numbers (now missing): {cols.not_numbers or '-'}.")
    lines.append(f"Stored as run {result.run['id']} (evaluate: never current).")
    emit(fmt, result.to_dict(), "\n".join(lines))


@risk.command("fit")
@click.option("--cells", required=True, type=click.Path(dir_okay=False), help="Cell table: CSV or GeoPackage.")
@click.option("--label", required=True, help="Label column: 1 found, 0 released with nothing found, else unknown.")
@click.option("--group", help="Group column: tuning folds keep each group whole (e.g. the municipality).")
@click.option("--id", "id_column", help="Cell id column (default: the row number, from 1).")
@click.option("--unknown-value", type=float, default=-1, show_default=True, help="Label value meaning unknown.")
@click.option("--drop", multiple=True, metavar="COL", help="Leave this column out of the features (repeatable).")
@click.option("--monotone", multiple=True, metavar="COL|PATTERN",
              help="Also keep risk from rising with this column (repeatable). Evidence distances always are.")
@click.option("--evidence", is_flag=True, help="Add evidence features from the database (needs --as-of).")
@click.option("--as-of", type=click.DateTime(formats=["%Y-%m-%d"]), help="Use only evidence known by this date.")
@click.option("--trees", type=click.IntRange(10, 5000), default=200, show_default=True, help="Trees per model.")
@click.option("--seed", type=int, default=1, show_default=True, help="Random seed of the model.")
@click.option("--out", "out", type=click.Path(dir_okay=False), help="Also write the model to this file.")
@click.option("--boost-from-distance", is_flag=True,
              help="Start the trees from the best evidence distance's log-odds (see docs/design.md).")
@layer_options
@db_options
@format_option
def risk_fit(cells: str, label: str, group: str | None, id_column: str | None, unknown_value: float,
             drop: tuple[str, ...], monotone: tuple[str, ...], evidence: bool, as_of: dt.datetime | None,
             trees: int, seed: int, out: str | None, boost_from_distance: bool, layer: tuple[str, ...],
             no_layers: bool, db: str, user: str | None, fmt: str) -> None:
    """Fit the risk model on a cell table's labelled cells; stored as a run with every cell's risk and reasons.

    Example: safeground risk fit --cells antioquia_train_all.csv --label mines_outcome --group Municipio
    --evidence --as-of 2014-12-31 --out antioquia.model --db colombia.gpkg
    """
    from safeground.services.risk_layers import layers_for
    from safeground.services.risk_model import ModelSettings
    from safeground.services.risk_runs import fit_cells

    with workspace(db, user) as ws:
        result = fit_cells(ws, cells, label=label, group=group, id_column=id_column, unknown_value=unknown_value,
                           drop=drop, evidence=evidence, as_of=as_of.date() if as_of else None,
                           settings=ModelSettings(trees=trees, seed=seed, monotone=monotone,
                                                  start_from_baseline=boost_from_distance),
                           layers=layers_for(ws, layer, use_layers=not no_layers))
    if out:
        Path(out).write_bytes(result.model.to_bytes())
    chosen = result.model.chosen
    served = ("the model" if result.model.served == "model" else
              f"the baseline {result.model.served} (it beat the model's inner out-of-fold ROC-AUC)")
    emit(fmt, {**result.to_dict(), "out": out},
         f"Fitted on {len(result.table)} cells ({result.table.label_counts}); inner out-of-fold ROC-AUC "
         f"{chosen['inner_roc_auc']:.3f} (num_leaves {chosen['num_leaves']}, min_data_in_leaf "
         f"{chosen['min_data_in_leaf']}). Serves {served}.\nStored as run {result.run['id']} (fit)"
         + (f"; model written to {out}." if out else "."))


@risk.command("predict")
@click.option("--run", "run_id", type=int, help="A stored fit's run id.")
@click.option("--model", "model_file", type=click.Path(dir_okay=False), help="A model file from 'risk fit --out'.")
@click.option("--cells", required=True, type=click.Path(dir_okay=False), help="Cell table: CSV or GeoPackage.")
@click.option("--id", "id_column", help="Cell id column (default: the row number, from 1).")
@click.option("--evidence", is_flag=True, help="Add evidence features from the database (needs --as-of).")
@click.option("--as-of", type=click.DateTime(formats=["%Y-%m-%d"]), help="Use only evidence known by this date.")
@click.option("--out", "out", type=click.Path(dir_okay=False), help="Write id, risk and reasons (.csv or .gpkg).")
@layer_options
@db_options
@format_option
def risk_predict(run_id: int | None, model_file: str | None, cells: str, id_column: str | None, evidence: bool,
                 as_of: dt.datetime | None, out: str | None, layer: tuple[str, ...], no_layers: bool, db: str,
                 user: str | None, fmt: str) -> None:
    """Predict each cell's risk and reasons with a fitted model; stored as a run, in input order.

    Example: safeground risk predict --run 3 --cells new_region.csv --out risk.csv --db colombia.gpkg
    """
    from safeground.services.risk_layers import layers_for
    from safeground.services.risk_runs import predict_cells, write_cells

    with workspace(db, user) as ws:
        result = predict_cells(ws, cells, run_id=run_id, model_file=model_file, id_column=id_column,
                               evidence=evidence, as_of=as_of.date() if as_of else None,
                               layers=layers_for(ws, layer, use_layers=not no_layers))
    if out:
        write_cells(out, result)
    cols = result.columns
    notes = []
    if cols.absent_filled_zero or cols.absent_filled_missing or cols.extra_ignored:
        notes.append(f"Columns absent, taken as 0 (one-hot): {cols.absent_filled_zero or '-'}; absent, taken as "
                     f"missing: {cols.absent_filled_missing or '-'}; not in the model, ignored: "
                     f"{cols.extra_ignored or '-'}.")
    emit(fmt, {**result.to_dict(), "out": out},
         "\n".join([f"Predicted {len(result.table)} cells (mean risk {float(result.risk.mean()):.3f}); serves "
                    f"{result.model.served}.", *notes, f"Stored as run {result.run['id']} (predict)"
                    + (f"; cells written to {out}." if out else ".")]))


@risk.command("surface")
@click.option("--as-of", type=click.DateTime(formats=["%Y-%m-%d"]),
              help="Evidence known by this date (default: today).")
@click.option("--cell-size", type=click.FloatRange(min=1, min_open=False), help="Grid cell size in metres.")
@click.option("--cells", "cells", type=click.Choice(["grid", "hazards"]), default="grid", show_default=True,
              help="A grid over the study area, or the hazard polygons themselves.")
@click.option("--area", help="Study area: lon,lat,lon,lat (west,south,east,north) or an admin area's code "
                             "(default: the national outline).")
@click.option("--label-years", type=click.IntRange(1, 50), default=5, show_default=True,
              help="Learn from what was found in this many years before --as-of.")
@click.option("--trees", type=click.IntRange(10, 5000), default=200, show_default=True, help="Trees per model.")
@click.option("--seed", type=int, default=1, show_default=True, help="Random seed of the model.")
@click.option("--boost-from-distance/--no-boost-from-distance", default=True, show_default=True,
              help="Start the trees from the best evidence distance's log-odds (see docs/design.md).")
@click.option("--adopt", is_flag=True, help="Make the new surface the current risk run.")
@click.option("--out", "out", type=click.Path(dir_okay=False), help="Also write the cells to this GeoPackage.")
@layer_options
@db_options
@format_option
def risk_surface(as_of: dt.datetime | None, cell_size: float | None, cells: str, area: str | None,
                 label_years: int, trees: int, seed: int, boost_from_distance: bool, adopt: bool, out: str | None,
                 layer: tuple[str, ...], no_layers: bool, db: str, user: str | None, fmt: str) -> None:
    """Risk of every cell of the study area as of a date, with its top three reasons; stored as a run.

    Example: safeground risk surface --as-of 2025-12-31 --cell-size 1000 --area XS01 --adopt --out risk.gpkg
    --db demo.gpkg
    """
    from safeground.services.risk_layers import layers_for
    from safeground.services.risk_model import ModelSettings
    from safeground.services.risk_surface import make_surface, write_surface

    day = as_of.date() if as_of else dt.date.today()
    with workspace(db, user) as ws:
        result = make_surface(ws, as_of=day, cell_size=cell_size, cells=cells, area=area, label_years=label_years,
                              adopt=adopt, settings=ModelSettings(trees=trees, seed=seed,
                                                                  start_from_baseline=boost_from_distance),
                              progress=progress_bar(), layers=layers_for(ws, layer, use_layers=not no_layers))
    if out:
        write_surface(out, result)
    doc = {**result.to_dict(), "out": out}
    tuning = result.model.chosen
    served = ("the model" if result.model.served == "model" else
              f"the baseline {result.model.served} (it ranked the new finds better than the model did)")
    used = result.run["parameters"].get("layers") or []
    lines = [f"Risk surface: {result.cells.described}, as of {day.isoformat()}; context layers: "
             f"{', '.join(used) if used else 'none'}.",
             f"Learnt from {tuning['fitted_as_of']} to {day.isoformat()}: {result.labels['positive']} positive, "
             f"{result.labels['negative']} negative, {result.labels['unknown']} unlabelled cells "
             f"(positive-unlabelled fit; label frequency {tuning['label_frequency']:.2f}).",
             f"Out-of-fold ROC-AUC of the new finds against all other cells: model {tuning['inner_roc_auc']:.3f}; "
             + ", ".join(f"{n} {v:.3f}" for n, v in sorted(tuning["baselines_roc_auc"].items(),
                                                             key=lambda kv: -kv[1])[:3]) + ".",
             f"Serves {served}. Expected finds over the area: {doc['expected_finds']:.1f}.",
             f"Stored as run {result.run['id']} (surface)" + ("; it is now the current risk run." if adopt else
                                                                 f"; adopt it with 'safeground risk adopt "
                                                                 f"{result.run['id']}'.")]
    if out:
        lines.append(f"Cells written to {out}.")
    emit(fmt, doc, "\n".join(lines))


@risk.command("targets")
@click.option("--run", "run_id", type=int, help="A stored surface's run id (default: the current run).")
@click.option("--top-share", type=float, default=0.1, show_default=True,
              help="Share of the cells, by highest risk, that make up the targets.")
@click.option("--limit", type=click.IntRange(1), default=20, show_default=True, help="Targets to print.")
@db_options
@format_option
def risk_targets(run_id: int | None, top_share: float, limit: int, db: str, user: str | None, fmt: str) -> None:
    """Ranked survey targets: clusters of adjacent high-risk cells, with their area and expected finds.

    Example: safeground risk targets --top-share 0.05 --db demo.gpkg
    """
    from safeground.services.risk_targets import survey_targets

    with workspace(db, user) as ws:
        run, targets = survey_targets(ws, run_id=run_id, top_share=top_share)
    cells = sum(len(t.cells) for t in targets)
    head = (f"Run {run['id']} ({run['kind']}, as of {run['as_of']}): the {cells:,} riskiest cells "
            f"({top_share:.0%}) form {len(targets):,} survey target{'s' if len(targets) != 1 else ''}, "
            f"ranked by expected finds.")
    shown = [t.words() for t in targets[:limit]]
    more = [f"... and {len(targets) - limit:,} more (--limit, or --format json for all)."] \
        if len(targets) > limit else []
    emit(fmt, {"run": run["id"], "as_of": run["as_of"], "top_share": top_share,
               "targets": [t.to_dict() for t in targets]}, "\n".join([head, *shown, *more]))


@risk.command("runs")
@click.option("--kind", type=click.Choice(["fit", "evaluate", "surface", "predict"]), help="Only runs of this kind.")
@db_options
@format_option
def risk_runs(kind: str | None, db: str, user: str | None, fmt: str) -> None:
    """List the stored risk runs, oldest first; the current one is marked.

    Example: safeground risk runs --db colombia.gpkg
    """
    from safeground.services.risk_runs import list_runs

    with workspace(db, user) as ws:
        runs = list_runs(ws, kind=kind)
    lines = [f"{'*' if r['current'] else ' '} {r['id']:>4}  {r['kind']:<8}  {r['created_at'][:19]}  "
             f"{r['created_by']:<12}  as of {r['as_of'] or '-':<10}  {r['cell_count']:>9} cells  "
             f"served: {r['served'] or '-'}" for r in runs]
    emit(fmt, runs, "\n".join(lines) if lines else "No risk runs yet.")


@risk.command("adopt")
@click.argument("run_id", metavar="RUN", type=int)
@db_options
@format_option
def risk_adopt(run_id: int, db: str, user: str | None, fmt: str) -> None:
    """Make a stored run the current one (the map, planner and report use it).

    Example: safeground risk adopt 7 --db colombia.gpkg
    """
    from safeground.services.risk_runs import adopt

    with workspace(db, user) as ws:
        run = adopt(ws, run_id)
    emit(fmt, run, f"Run {run['id']} ({run['kind']}, {run['created_at'][:10]}) is now the current risk run.")


@main.group(cls=SafeGroundGroup)
def plan() -> None:
    """Clearance priorities and plans (issue 7): which hazards first, which teams where."""


@plan.command("priorities")
@db_options
@click.option("--method", type=click.Choice(["weighted", "promethee"]), default=None,
              help="Scoring method (default: the configuration's plan.method): weighted sum or PROMETHEE II.")
@click.option("--weights", "weights_file", type=click.Path(dir_okay=False),
              help="YAML mapping of criterion to weight, overriding the configured plan.weights.")
@click.option("--as-of", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="Reference date for recent casualties and deadlines (default: today).")
@click.option("--limit", type=click.IntRange(0), default=20, show_default=True,
              help="Hazards to show in text (0: all); JSON always lists all.")
@format_option
def plan_priorities(db: str, user: str | None, method: str | None, weights_file: str | None,
                    as_of: Any, limit: int, fmt: str) -> None:
    """A transparent priority score for every open hazard, explained criterion by criterion.

    Example: safeground plan priorities --db demo.gpkg --method promethee --weights weights.yaml --format json
    """
    from safeground.services.plan_priorities import priorities, read_weights

    weights = read_weights(weights_file) if weights_file else None
    with workspace(db, user) as ws:
        doc = priorities(ws, method=method, weights=weights, as_of=as_of.date() if as_of else None)
    shown = doc["hazards"][:limit] if limit else doc["hazards"]
    crit = [c for c in doc["weights"] if c not in doc["skipped"]]
    lines = [f"{doc['count']} open hazards, {doc['method']} score; skipped: {', '.join(doc['skipped']) or 'none'}.",
             f"{'rank':>4} {'hazard':<10} {'score':>7}  " + "  ".join(f"{c[:11]:>11}" for c in crit)]
    for row in shown:
        lines.append(f"{row['rank']:>4} {row['ref']:<10} {row['score']:>7.3f}  "
                     + "  ".join(f"{row['criteria'][c]['contribution']:>11.3f}" for c in crit))
    emit(fmt, doc, "\n".join(lines))


@plan.command("make")
@db_options
@click.option("--start", type=click.DateTime(["%Y-%m-%d"]), required=True, help="First day of week 0.")
@click.option("--horizon", type=click.IntRange(1, 520), default=52, show_default=True, help="Weeks to plan.")
@click.option("--teams", "teams_file", type=click.Path(dir_okay=False),
              help="CSV of teams to import or update first (columns in the README).")
@click.option("--time-limit", type=click.FloatRange(0.1), default=60.0, show_default=True,
              help="Seconds for the solver (the bound has its own 30 s).")
@click.option("--adopt", "adopt_run", is_flag=True, help="Also make this run the current plan.")
@click.option("--out", type=click.Path(dir_okay=False), help="Also write the plan as .csv or .gpkg.")
@hazards_option
@format_option
def plan_make(db: str, user: str | None, start: Any, horizon: int, teams_file: str | None, time_limit: float,
              adopt_run: bool, out: str | None, hazards: int | None, fmt: str) -> None:
    """Plan which teams clear which hazards, week by week: greedy, then HiGHS; value, bound and gap. Stored as a run.

    Example: safeground plan make --db demo.gpkg --teams teams.csv --start 2026-01-05 --horizon 26 --adopt
    """
    from safeground.services.plan_make import check_out, make_plan, write_plan

    if out:
        check_out(out)
    with workspace(db, user) as ws:
        doc = make_plan(ws, start=start.date(), horizon=horizon, time_limit=time_limit, teams=teams_file,
                        adopt_run=adopt_run, hazards=hazards)
        if out:
            write_plan(ws, doc["items"], out)
    safe = [t for t in doc["target_weeks"] if t["week"] is not None]
    lines = []
    if doc["teams_import"]:
        ti = doc["teams_import"]
        lines.append(f"Teams from {ti['source']}: {len(ti['created'])} created, {len(ti['updated'])} updated, "
                     f"{ti['rows_quarantined']} quarantined {ti['quarantine_reasons'] or ''}".rstrip() + ".")
    lines += [f"{doc['teams']} teams, {doc['hazards']} open hazards, {doc['targets']} targets, "
              f"{doc['horizon_weeks']} weeks from {doc['start']}."
              + (f" {doc['targets_left_out']} targets left out: they also wait on hazards outside the "
                 f"{doc['hazards']} planned." if doc["targets_left_out"] else ""),
              f"value {doc['value']:.1f} (greedy {doc['greedy_value']:.1f}), bound {doc['bound']:.1f}, "
              f"gap {100 * doc['gap']:.1f}% ({doc['solve_seconds']} s; bound {doc['bound_seconds']} s).",
              f"{doc['hazards_released']} hazards released, {len(safe)} of {doc['targets']} targets safe in the "
              "horizon." + (f" Plan written to {out}." if out else ""),
              f"Stored as run {doc['run']}" + (" (now the current plan)." if doc["current"] else
                                               f"; make it current with 'safeground plan adopt {doc['run']}'.")]
    emit(fmt, doc, "\n".join(lines))


@plan.command("runs")
@click.option("--kind", type=click.Choice(["plan", "what_if"]), help="Only runs of this kind.")
@db_options
@format_option
def plan_runs(kind: str | None, db: str, user: str | None, fmt: str) -> None:
    """List the stored plan runs, oldest first; the current one is marked with *.

    Example: safeground plan runs --db demo.gpkg
    """
    from safeground.services.plan_runs import list_runs

    with workspace(db, user) as ws:
        runs = list_runs(ws, kind=kind)
    lines = [f"{'*' if r['current'] else ' '} {r['id']:>4}  {r['kind']:<7}  {r['created_at'][:16]}  "
             f"{r['created_by']:<10}  from {r['start_date']}, {r['horizon_weeks']:>3} weeks  value {r['value']:.1f} "
             f"(greedy {r['greedy_value']:.1f})  gap " + ("-" if r["gap"] is None else f"{100 * r['gap']:.1f}%")
             + f"  {r['label'] or ''}".rstrip() for r in runs]
    emit(fmt, runs, "\n".join(lines) if lines else "No plan runs yet.")


@plan.command("adopt")
@click.argument("run_id", metavar="RUN", type=int)
@db_options
@format_option
def plan_adopt(run_id: int, db: str, user: str | None, fmt: str) -> None:
    """Make a stored plan the current one (public settlement dates, plan when, map and report use it).

    Example: safeground plan adopt 3 --db demo.gpkg
    """
    from safeground.services.plan_runs import adopt

    with workspace(db, user) as ws:
        run = adopt(ws, run_id)
    run = {k: v for k, v in run.items() if k != "targets"}
    emit(fmt, run, f"Run {run['id']} (from {run['start_date']}, {run['horizon_weeks']} weeks, made "
                   f"{run['created_at'][:10]}) is now the current plan.")


@plan.command("when")
@click.option("--target", "target", required=True, metavar="REF", help="A settlement or project: ref, uuid or name.")
@db_options
@format_option
def plan_when(target: str, db: str, user: str | None, fmt: str) -> None:
    """When a settlement or project becomes safe under the current plan, and which hazards it waits on.

    Example: safeground plan when --target PT-000001 --db demo.gpkg
    """
    from safeground.services.plan_when import when

    with workspace(db, user) as ws:
        doc = when(ws, target)
    plan = doc["plan"]
    head = {"planned": f"safe in week {doc['week']} (by {doc['date']})",
            "not_in_horizon": f"not safe within the plan's {plan['horizon_weeks']} weeks",
            "not_blocked": "not blocked: no open hazard blocks it",
            "not_in_plan": "blocked by hazards the plan did not hold; make a new plan"}[doc["status"]]
    lines = [f"{doc['target']} {doc['name']} ({doc['kind']}): {head}, under plan run {plan['run']} "
             f"(from {plan['start_date']}, made {plan['made']})."]
    for w in doc["waits_on"]:
        lines.append(f"  waits on {w['ref']} {w['name'] or ''}: " + (f"released in week {w['week']} ({w['date']})"
                     if w["week"] is not None else "not released in the plan")
                     + (f", teams {', '.join(w['teams'])}" if w["teams"] else ""))
    emit(fmt, doc, "\n".join(lines))


@plan.command("compare")
@db_options
@click.option("--start", type=click.DateTime(["%Y-%m-%d"]), required=True, help="First day of week 0.")
@click.option("--horizon", type=click.IntRange(1, 520), default=52, show_default=True, help="Weeks to plan.")
@click.option("--add-teams", "add", type=click.IntRange(0, 500), default=0, help="What-if: this many more teams...")
@click.option("--method", type=click.Choice(["manual", "mechanical", "mdd", "bac", "nts"]),
              help="...of this method (copies of its team of median capacity).")
@click.option("--remove-team", "remove", multiple=True, metavar="ID", help="What-if: without this team (repeatable).")
@click.option("--weights", "weights_file", type=click.Path(dir_okay=False),
              help="What-if: objective weights from YAML (households_weight, project_weight, risk_weight).")
@click.option("--pin", "pins", multiple=True, metavar="TARGET=WEEK",
              help="What-if: this target safe by this week (repeatable).")
@click.option("--time-limit", type=click.FloatRange(0.1), default=10.0, show_default=True,
              help="Seconds for the solver, per plan.")
@hazards_option
@format_option
def plan_compare(db: str, user: str | None, start: Any, horizon: int, add: int, method: str | None,
                 remove: tuple[str, ...], weights_file: str | None, pins: tuple[str, ...], time_limit: float,
                 hazards: int | None, fmt: str) -> None:
    """Plan the base and each what-if side by side: value, and the target dates that changed. Never current.

    Example: safeground plan compare --db demo.gpkg --start 2026-01-05 --horizon 26 --add-teams 5 --method manual
    """
    from safeground.services.plan_compare import compare, parse_pin

    parsed = tuple(parse_pin(p) for p in pins)
    with workspace(db, user) as ws:
        doc = compare(ws, start=start.date(), horizon=horizon, add=add, method=method, remove=remove,
                      weights_file=weights_file, pins=parsed, time_limit=time_limit, hazards=hazards)
    width = max(len(s["label"]) for s in doc["scenarios"])
    lines = [f"{doc['teams']} teams, {doc['hazards']} open hazards, {doc['targets']} targets, "
             f"{doc['horizon_weeks']} weeks from {doc['start']}; values under the base objective.",
             f"{'what-if':<{width}}  {'run':>4}  {'value':>14}  {'change':>12}  {'targets safe':>12}  dates changed"]
    for s in doc["scenarios"]:
        lines.append(f"{s['label']:<{width}}  {s['run']:>4}  {s['value']:>14.1f}  {s['delta']:>+12.1f}  "
                     f"{s['targets_safe']:>12}  {len(s.get('changed', [])) if 'changed' in s else '-':>13}"
                     + ("" if "pin" not in s else "  pin " + ("met" if s["pin"]["met"] else "NOT met")))
    for s in doc["scenarios"][1:]:
        for c in s["changed"]:
            lines.append(f"  {s['label']}: {c['ref']} {c['base_date'] or 'not in horizon'} -> "
                         f"{c['date'] or 'not in horizon'}")
    emit(fmt, doc, "\n".join(lines))


@plan.command("gantt")
@click.option("--run", "run_id", type=int, help="A stored run (default: the current plan).")
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="Chart file: .png, .svg or .pdf.")
@db_options
@format_option
def plan_gantt(run_id: int | None, out: str, db: str, user: str | None, fmt: str) -> None:
    """Draw a stored plan as a Gantt chart, one row per team.

    Example: safeground plan gantt --run 3 --out plan.svg --db demo.gpkg
    """
    from safeground.services.plan_gantt import check_chart_out, draw_gantt, gantt_rows
    from safeground.services.plan_runs import current_run

    check_chart_out(out)
    with workspace(db, user) as ws:
        if run_id is None:
            run = current_run(ws)
            assert run is not None
            run_id = run["id"]
        doc = gantt_rows(ws, run_id)
    draw_gantt(doc, out)
    bars = sum(len(t["bars"]) for t in doc["teams"])
    emit(fmt, {**doc, "out": out}, f"Run {doc['run']}: {len(doc['teams'])} teams, {bars} bars; chart written to {out}.")


# --- offline field sync ------------------------------------------------------------------------------------
@main.command()
@click.option("--area", metavar="ADMIN", help="Make a field copy of this admin area (its code or name); without it, "
              "merge the field copy --from back into --to.")
@click.option("--from", "source", required=True, metavar="DB",
              help="The server (URL or .gpkg) to copy from, or the field copy to merge back.")
@click.option("--to", "target", required=True, metavar="DB",
              help="The new field copy (.gpkg), or the server to merge into.")
@click.option("--user", envvar="SAFEGROUND_USER", default=None,
              help="Whose copy (their role decides the layers and personal fields); merging: who merges "
                   "(default: the user the copy was made for).")
@format_option
def sync(area: str | None, source: str, target: str, user: str | None, fmt: str) -> None:
    """Make a field copy of an area for offline work, or merge one back (conflicts are kept for a person).

    Examples: safeground sync --area CO50711 --from postgresql://host/mine_action --to laptop.gpkg --user ana;
    safeground sync --from laptop.gpkg --to postgresql://host/mine_action
    """
    from safeground.services.sync import make_field_copy
    from safeground.services.sync_merge import merge_field_copy
    from safeground.services.workspace import acting_user

    if area is not None:
        name = acting_user(user)
        with workspace(source, name) as ws:
            copy = make_field_copy(ws, target, area, username=name, progress=progress_bar())
        held = sum(copy.records.values())
        emit(fmt, copy.as_dict(), f"Field copy {copy.path}: {held} records of {copy.area} for {copy.username} "
             f"({copy.role}; personal fields {'included' if copy.personal_fields else 'left out'}"
             + (f"; {copy.tiles} basemap tiles" if copy.tiles else "") + ")"
             + (f"; not copied: {', '.join(copy.layers_left_out)}" if copy.layers_left_out else "") + ".")
        return
    with workspace(target, user) as ws:
        result = merge_field_copy(ws, source, username=user)
    counts = result.counts
    text = (f"Merged {source} into {target} (sync {result.sync_id}"
            + (", finished from the server's record of it" if result.resumed else "") + "): "
            + ", ".join(f"{counts.get(k, 0)} {k}" for k in ("inserted", "updated", "retired", "conflicts",
                                                              "quarantined")) + ".")
    if result.conflicts:
        text += " Resolve the conflicts with 'safeground conflicts list'."
    emit(fmt, result.as_dict(), text)


@main.group(cls=SafeGroundGroup)
def conflicts() -> None:
    """Records a field merge found changed on both sides, for a person to resolve (never guessed)."""


@conflicts.command("list")
@click.option("--all", "include_resolved", is_flag=True, help="Also list resolved conflicts.")
@db_options
@format_option
def conflicts_list(include_resolved: bool, db: str, user: str | None, fmt: str) -> None:
    """List open conflicts: the record, who changed it on the server, and each field's two values.

    Example: safeground conflicts list --db postgresql://host/mine_action
    """
    from safeground.services.sync_conflicts import list_conflicts

    with workspace(db, user) as ws:
        found = list_conflicts(ws, include_resolved=include_resolved)
    lines = []
    for c in found:
        lines.append(f"#{c['id']} {c['ref']} ({c['layer']}) {c['status']}: server version {c['server_version']} "
                     f"by {c['server_changed_by']}, field copy based on version {c['base_version']}")
        lines += [f"    {name}: server {v['server']!r} | field {v['field']!r}" for name, v in c["fields"].items()]
    emit(fmt, found, "\n".join(lines) if lines else "No conflicts to resolve.")


def _field_value(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise click.BadParameter(f"{text!r} is not FIELD=VALUE.", param_hint="--set")
    return name.strip(), value


@conflicts.command("resolve")
@click.argument("conflict_id", type=int)
@click.option("--keep", required=True, type=click.Choice(["server", "field", "merged"]),
              help="server: leave the record; field: write the offline changes; merged: write the --set values.")
@click.option("--set", "sets", multiple=True, metavar="FIELD=VALUE", help="A value to write (repeatable).")
@db_options
@format_option
def conflicts_resolve(conflict_id: int, keep: str, sets: tuple[str, ...], db: str, user: str | None,
                      fmt: str) -> None:
    """Resolve a conflict (audited).

    Example: safeground conflicts resolve 3 --keep merged --set status=worked_on --db postgresql://host/mine_action
    """
    from safeground.services.sync_conflicts import resolve_conflict

    values = dict(_field_value(s) for s in sets)
    with workspace(db, user) as ws:
        done = resolve_conflict(ws, conflict_id, keep, sets=values)
    emit(fmt, done, f"Conflict {conflict_id} on {done['ref']} resolved: kept {keep}"
         + (f" (now version {done['result_version']})." if done["result_version"] else "."))


if __name__ == "__main__":  # pragma: no cover
    main()
