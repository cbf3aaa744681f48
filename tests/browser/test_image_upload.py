"""The dashboard's image upload in Chromium, with a real db_worker process: the bar moves
through upload and processing, and the card ends with the thumbnail the worker made."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser.conftest import ROOT
from tests.storefront.images.support import pictures

WAIT_MS = 30_000


@pytest.fixture
def image_worker(storefront_server_env: dict[str, str]) -> Iterator[None]:
    # Each processing step sleeps 0.3 s, so the page has a processing phase to show.
    env = {**storefront_server_env, "STOREFRONT_IMAGE_STEP_DELAY": "0.3"}
    worker = subprocess.Popen(
        [sys.executable, "manage.py", "db_worker", "--no-reload", "--interval", "0.1",
         "--no-startup-delay", "--worker-id", uuid.uuid4().hex, "-v", "0"],
        cwd=ROOT, env=env,
    )  # fmt: skip
    try:
        yield
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=15)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()


def test_an_upload_shows_its_progress_and_ends_with_its_thumbnail(
    page, storefront, image_worker, tmp_path: Path
) -> None:
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(pictures.jpeg_with_gps(2400, 1600, orientation=1))
    page.goto(f"{storefront}/")
    page.wait_for_selector('#live-feed[data-state="live"]', timeout=WAIT_MS)
    page.set_input_files("#image-file", str(photo))
    page.wait_for_selector('#image-upload[data-state="processing"]', timeout=WAIT_MS)
    midway = page.eval_on_selector("#image-progress", "bar => bar.value")
    assert 50 <= midway < 100
    page.wait_for_selector('#image-upload[data-state="done"]', timeout=WAIT_MS)
    phases = page.get_attribute("#image-upload", "data-phases").split()
    assert phases[0] == "uploading"
    assert phases[-1] == "done"
    assert "processing" in phases
    assert page.eval_on_selector("#image-progress", "bar => bar.value") == 100
    thumb = page.wait_for_selector("#image-thumb:not([hidden])", timeout=WAIT_MS)
    page.wait_for_function(
        "() => document.getElementById('image-thumb').complete"
        " && document.getElementById('image-thumb').naturalWidth > 0",
        timeout=WAIT_MS,
    )
    size = thumb.evaluate("img => [img.naturalWidth, img.naturalHeight]")
    assert size == [256, 171]
    assert "/media/images/" in thumb.get_attribute("src")
    assert page.console_errors == []


def test_a_refused_file_says_why(page, storefront, tmp_path: Path) -> None:
    text = tmp_path / "notes.png"
    text.write_bytes(b"just some text, not a picture\n")
    page.goto(f"{storefront}/")
    page.set_input_files("#image-file", str(text))
    page.wait_for_selector('#image-upload[data-state="error"]', timeout=WAIT_MS)
    assert "not a PNG, JPEG, WebP or GIF" in page.inner_text("#image-status")
