"""The mapped import's CSV reading: Arrow's fast reader gives exactly what the csv module gives, and the same
file faults (hypothesis over hostile text: quotes, delimiters, line ends, blank lines, NUL, bad bytes)."""

from __future__ import annotations

import csv
import io
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from safeground.domain.errors import SafeGroundError
from safeground.io.mapping import ImportMapping
from safeground.services.mapped_import import _chunks, _csv_chunks

MAPPING = ImportMapping.model_validate({"name": "t", "route": {"default": "device"},
                                        "layers": {"device": {"fields": {"model": "a"}}}})
HEADER = ["a", "b", "c"]


def _read(path: Path, size: int, reader=_chunks) -> tuple[list[tuple[int, dict[str, list[str]]]], str | None]:
    """(first row, columns) of each chunk, and the error code that stopped the reading, if any."""
    out: list[tuple[int, dict[str, list[str]]]] = []
    try:
        chunks = reader(path, MAPPING, size) if reader is _chunks else \
            _csv_chunks(path, HEADER, size, 0, 0)
        for part in chunks:
            out.append((part.first, {k: list(v) for k, v in part.columns.items()}))
    except SafeGroundError as err:
        return out, err.code
    return out, None


def _reference(data: bytes) -> tuple[list[list[str]], str | None]:
    """Rows as the standard csv module reads them (after the header), or the fault it finds."""
    try:
        rows = list(csv.reader(io.TextIOWrapper(io.BytesIO(data), encoding="utf-8-sig", newline="")))[1:]
    except UnicodeDecodeError:
        return [], "io.bad_encoding"
    except csv.Error:
        return [], "io.malformed_csv"
    if any(len(r) != len(HEADER) for r in rows):
        return [], "io.malformed_row"
    return rows, None


def _rows(chunks: list[tuple[int, dict[str, list[str]]]]) -> list[list[str]]:
    return [list(r) for _, cols in chunks for r in zip(*(cols[h] for h in HEADER), strict=True)]


FIELD = st.text(alphabet=st.sampled_from(["x", "é", ",", '"', "\n", "\r", " ", "\x00", "\t"]), max_size=6)
RAW = st.lists(st.sampled_from([b"x", b"\xc3\xa9", b",", b'"', b"\n", b"\r", b"\r\n", b" ", b"\x00", b"\xff",
                                b'"x"', b",,"]), max_size=40).map(b"".join)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(st.lists(FIELD, min_size=3, max_size=3), max_size=12), size=st.integers(1, 5),
       bom=st.booleans())
def test_written_csv_reads_back_the_same(rows: list[list[str]], size: int, bom: bool) -> None:
    text = io.StringIO()
    csv.writer(text).writerows([HEADER, *rows])
    data = ("\ufeff" if bom else "").encode() + text.getvalue().encode("utf-8")
    _agrees(data, size)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=RAW, size=st.integers(1, 5))
def test_hostile_bytes_read_alike_or_fail_alike(body: bytes, size: int) -> None:
    _agrees(b"a,b,c\n" + body, size)


def _agrees(data: bytes, size: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "f.csv"
        path.write_bytes(data)
        chunks, code = _read(path, size)
    rows, expected = _reference(data)
    assert code == expected
    if code is None:
        assert _rows(chunks) == rows
        assert [first for first, _ in chunks] == list(range(1, len(rows) + 1, size))


@pytest.mark.parametrize("size", [7, 100_000])
def test_a_ragged_row_deep_in_the_file_is_named(tmp_path: Path, size: int) -> None:
    lines = ["a,b,c", *(f"{i},x,y" for i in range(1, 30_001))]
    lines[25_000] = "25000,x"  # data row 25,000 lacks a field
    path = tmp_path / "ragged.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    chunks, code = _read(path, size)
    assert code == "io.malformed_row"
    assert sum(len(cols["a"]) for _, cols in chunks) <= 25_000  # the rows before it, at most
    with pytest.raises(SafeGroundError, match="data row 25000 \\(line 25001\\) has 2 fields"):
        list(_chunks(path, MAPPING, size))
