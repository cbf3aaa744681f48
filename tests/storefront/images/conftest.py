"""Image tests: a media root of their own; helpers to upload with a real API key."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.test import override_settings


@pytest.fixture
def media_root(tmp_path: Path):
    root = tmp_path / "media"
    root.mkdir()
    with override_settings(MEDIA_ROOT=str(root)):
        yield root
