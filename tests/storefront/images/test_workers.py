"""End to end with real processes: uvicorn, task workers, and the engine's queue.

Each test runs on the embedded engine (django-tasks-db's ``db_worker``) on SQLite
and on PostgreSQL, and on Celery (``celery -A storefront worker``, prefork) with
Redis and PostgreSQL. Nothing is faked: uploads go over HTTP, workers are killed
with SIGKILL, outputs are read back from the URLs the job endpoint gives.
"""

from __future__ import annotations

import asyncio
import io
import time
from pathlib import Path

import httpx
import pytest
from PIL import Image

from tests.storefront.images.support import pictures
from tests.storefront.images.support.deployment import KINDS, Deployment, deploy, serving
from tests.storefront.live.support.sse import frames

pytestmark = pytest.mark.timeout(180)


@pytest.fixture(params=KINDS)
def kind(request: pytest.FixtureRequest) -> str:
    return request.param


def _upload(url: str, deployment: Deployment, content: bytes, name: str = "x.png") -> dict:
    response = httpx.post(
        f"{url}/api/images/", files={"file": (name, content)}, headers=deployment.headers,
        trust_env=False, timeout=30,
    )  # fmt: skip
    assert response.status_code == 202, response.text
    return response.json()


def _wait(job_url: str, deployment: Deployment, *, until=("done", "failed"), timeout=60.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        job = httpx.get(job_url, headers=deployment.headers, trust_env=False, timeout=10).json()
        if job["status"] in until:
            return job
        assert time.monotonic() < deadline, f"job still {job['status']} after {timeout} s: {job}"
        time.sleep(0.1)


def test_a_photo_becomes_two_webp_variants_upright_and_without_its_gps(
    request: pytest.FixtureRequest, tmp_path: Path, kind: str
) -> None:
    with deploy(request, tmp_path, kind) as deployment, serving(deployment.env) as url:
        deployment.start_worker()
        created = _upload(url, deployment, pictures.jpeg_with_gps(1600, 1200, orientation=6))
        job = _wait(created["url"], deployment)
        assert job["status"] == "done", job
        assert job["progress"] == 100
        assert job["error"] is None
        # Orientation 6: the 1600x1200 sensor image is a portrait once turned.
        assert (job["variants"]["web"]["width"], job["variants"]["web"]["height"]) == (768, 1024)
        assert (job["variants"]["thumb"]["width"], job["variants"]["thumb"]["height"]) == (192, 256)
        for variant in job["variants"].values():
            response = httpx.get(variant["url"], trust_env=False)
            assert response.status_code == 200
            assert response.headers["content-type"] == "image/webp"
            assert len(response.content) == variant["bytes"]
            image = Image.open(io.BytesIO(response.content))
            assert image.format == "WEBP"
            assert (image.width, image.height) == (variant["width"], variant["height"])
            assert "exif" not in image.info
            assert "xmp" not in image.info
            assert len(image.getexif()) == 0
            assert b"GPS" not in response.content
            assert b"TestCam" not in response.content
            # The red band was along the top; turned 90 degrees clockwise it runs down the right.
            assert image.convert("RGB").getpixel((image.width - 2, 2))[0] > 200
            assert image.convert("RGB").getpixel((2, 2))[2] > 100


def test_a_corrupt_image_fails_with_a_reason_and_the_worker_goes_on(
    request: pytest.FixtureRequest, tmp_path: Path, kind: str
) -> None:
    with deploy(request, tmp_path, kind) as deployment, serving(deployment.env) as url:
        worker = deployment.start_worker()
        bad = _upload(url, deployment, pictures.corrupt_png(), "bad.png")
        good = _upload(url, deployment, pictures.png(300, 200))
        failed = _wait(bad["url"], deployment)
        assert failed["status"] == "failed"
        assert "could not be decoded" in failed["error"]
        assert failed["variants"] == {}
        assert _wait(good["url"], deployment)["status"] == "done"
        assert worker.poll() is None


def test_a_worker_killed_mid_job_leaves_the_job_to_the_next_worker(
    request: pytest.FixtureRequest, tmp_path: Path, kind: str
) -> None:
    # Each step of the job sleeps 0.5 s, so there is a "mid-job" to kill the worker in.
    delay = {"STOREFRONT_IMAGE_STEP_DELAY": "0.5"}
    with deploy(request, tmp_path, kind, **delay) as deployment, serving(deployment.env) as url:
        first = deployment.start_worker()
        created = _upload(url, deployment, pictures.png(800, 600))
        job = _wait(created["url"], deployment, until=("processing",), timeout=30)
        assert job["status"] == "processing"
        deployment.kill(first)
        time.sleep(1)
        assert _job_field(deployment, created["id"], "status") == "processing"
        deployment.start_worker()
        done = _wait(created["url"], deployment, timeout=90)
        assert done["status"] == "done", done
        assert _job_field(deployment, created["id"], "attempts") == "2"


def _job_field(deployment: Deployment, job_id: int, name: str) -> str:
    return deployment.python(
        "from storefront.images.models import ImageJob\n"
        f"print(ImageJob.objects.values_list({name!r}, flat=True).get(pk={job_id}))"
    )


def test_fifty_concurrent_uploads_all_complete_once(
    request: pytest.FixtureRequest, tmp_path: Path, kind: str
) -> None:
    with deploy(request, tmp_path, kind) as deployment, serving(deployment.env) as url:
        deployment.start_worker()
        deployment.start_worker()
        contents = [pictures.png(200 + index, 150, "purple") for index in range(50)]

        async def upload_all() -> list[httpx.Response]:
            async with httpx.AsyncClient(trust_env=False, timeout=60) as client:
                return await asyncio.gather(*(
                    client.post(f"{url}/api/images/", files={"file": ("p.png", content)},
                                headers=deployment.headers)
                    for content in contents
                ))  # fmt: skip

        responses = asyncio.run(upload_all())
        assert [response.status_code for response in responses] == [202] * 50
        ids = {response.json()["id"] for response in responses}
        assert len(ids) == 50
        for response in responses:
            job = _wait(response.json()["url"], deployment, timeout=120)
            assert job["status"] == "done", job
            assert job["original"]["width"] == job["variants"]["web"]["width"]
        summary = deployment.python(
            "from storefront.images.models import ImageJob\n"
            "print(ImageJob.objects.count(), sorted(set(ImageJob.objects.values_list('attempts', flat=True))))"
        )
        assert summary == "50 [1]"
        files = sorted(path.name for path in deployment.media_root.rglob("*") if path.is_file())
        assert (
            files.count("thumb.webp")
            == files.count("web.webp")
            == files.count("original.png")
            == 50
        )


def test_last_seen_reports_a_running_worker(
    request: pytest.FixtureRequest, tmp_path: Path, kind: str
) -> None:
    probe = "from storefront.images.workers import last_seen\nv = last_seen()\nprint(v.timestamp() if v else None)"
    with deploy(request, tmp_path, kind) as deployment:
        assert deployment.python(probe) == "None"
        deployment.start_worker()
        deadline = time.monotonic() + 30
        while (seen := deployment.python(probe)) == "None":
            assert time.monotonic() < deadline, "the worker never reported"
            time.sleep(0.2)
        first = float(seen)
        assert abs(time.time() - first) < 30
        time.sleep(1.5)  # three heartbeats at 0.5 s
        assert float(deployment.python(probe)) > first


def test_the_job_progress_reaches_live_viewers_from_the_worker(
    request: pytest.FixtureRequest, tmp_path: Path, kind: str
) -> None:
    with deploy(request, tmp_path, kind) as deployment, serving(deployment.env) as url:
        deployment.start_worker()

        async def watch() -> list[dict]:
            async with (
                httpx.AsyncClient(trust_env=False, timeout=30) as client,
                client.stream("GET", f"{url}/api/live/", headers=deployment.headers) as live,
            ):
                stream = frames(live)
                ready = await anext(stream)
                assert ready.event == "ready"
                created = await client.post(
                    f"{url}/api/images/",
                    files={"file": ("p.png", pictures.png(900, 700))},
                    headers=deployment.headers,
                )
                job_id = created.json()["id"]
                seen: list[dict] = []
                async with asyncio.timeout(60):
                    async for frame in stream:
                        if frame.event != "image.progress":
                            continue
                        update = frame.json()
                        if update["id"] == job_id:
                            seen.append(update)
                        if update["status"] in ("done", "failed"):
                            return seen
            return seen

        seen = asyncio.run(watch())
        statuses = [update["status"] for update in seen]
        assert statuses[0] == "queued"
        assert statuses[-1] == "done"
        assert "processing" in statuses
        percents = [update["progress"] for update in seen if update["status"] == "processing"]
        assert percents == sorted(percents)
        assert 0 < percents[0] < percents[-1] < 100
        assert all(set(update) == {"id", "status", "progress", "error"} for update in seen)
