"""The reference pages of the docs site say what the code does: every check id, every
settings key, every field of the envelope and every outcome (docs/checks.md,
docs/settings.md, docs/envelope.md)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import chorus
from chorus.engine import _settings as engine_settings
from chorus.server import _settings as server_settings

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"


def _table_column(page: str, heading: str | None = None) -> list[str]:
    """The first cell of each row of the tables on ``page`` (under ``heading`` if given)."""
    text = (DOCS / page).read_text()
    if heading is not None:
        text = text.split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `([^`]+)` \|", text, re.MULTILINE)
    assert rows, f"no table rows on docs/{page}"
    return rows


def test_every_check_id_in_the_code_is_in_the_check_reference_and_no_other():
    in_code = {
        found
        for path in (ROOT / "src" / "chorus").rglob("*.py")
        for found in re.findall(r"chorus\.[EW]\d{3}", path.read_text())
    }
    documented = _table_column("checks.md")
    assert documented == sorted(documented)
    assert set(documented) == in_code


@pytest.mark.parametrize(
    ("heading", "keys"),
    [
        ("The engine's keys", engine_settings.ENGINE_KEYS),
        ("An upstream's keys", engine_settings._UPSTREAM_KEYS),
        ("The server side's keys", server_settings.SERVER_KEYS),
    ],
)
def test_every_settings_key_is_in_the_settings_reference(heading, keys):
    assert set(_table_column("settings.md", heading)) == set(keys)


def test_the_envelope_page_lists_every_field_and_outcome():
    result = chorus.Result(
        sources={"a": chorus.SourceResult(name="a", outcome=chorus.Outcome.OK, required=True)},
        elapsed_ms=1.0,
    )
    envelope = result.as_dict()
    assert _table_column("envelope.md", "The document") == list(envelope)
    assert _table_column("envelope.md", "A source") == list(envelope["sources"]["a"])
    status_row = (DOCS / "envelope.md").read_text().split("| `status` |", 1)[1].split("\n", 1)[0]
    assert set(re.findall(r"`([a-z_]+)`", status_row)) == {o.value for o in chorus.Outcome}
