"""What a media root holds."""

from __future__ import annotations

from pathlib import Path


def stored_files(root: Path) -> list[Path]:
    return sorted(path for path in root.rglob("*") if path.is_file())
