"""The design record stays current: generated sections match the code, every error code is documented."""

from __future__ import annotations

import re

from tests.conftest import REPO

from safeground.docs import render

DESIGN = REPO / "docs" / "design.md"


def test_generated_sections_are_current() -> None:
    text = DESIGN.read_text(encoding="utf-8")
    assert render(text) == text, "run 'make docs' to regenerate docs/design.md"


def test_every_error_code_in_the_code_is_documented() -> None:
    codes: set[str] = set()
    for path in (REPO / "src" / "safeground").rglob("*.py"):
        src = path.read_text(encoding="utf-8")
        codes |= set(re.findall(r'Error\(\s*"([a-z_]+\.[a-z_]+)"', src))
        codes |= {f"release.{c}" for c in re.findall(r'_refuse\(\s*"([a-z_]+)"', src)}
    assert len(codes) > 40
    text = DESIGN.read_text(encoding="utf-8")
    missing = sorted(c for c in codes if c.split(".")[1] not in text)
    assert not missing, f"document these error codes in docs/design.md: {missing}"
