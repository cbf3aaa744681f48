"""POST /api/images/ in-process: what is accepted (202 + a queued job) and what is refused.

Every refusal is a JSON 4xx and leaves no file in the media root and no job row.
The worker side is in test_worker_db.py and test_worker_celery.py.
"""

from __future__ import annotations

import orjson
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import AsyncClient, override_settings
from django_tasks_db.models import DBTaskResult

from storefront.asgi import application
from storefront.images.models import ImageJob
from tests.fixtures.asgi import asgi_request
from tests.storefront.images.support import pictures
from tests.storefront.images.support.media import stored_files

pytestmark = pytest.mark.django_db(transaction=True)

URL = "/api/images/"


async def _upload(client: AsyncClient, headers: dict[str, str], data: dict[str, object]):
    response = await client.post(URL, data, headers=headers)
    return response.status_code, orjson.loads(response.content), response


def _file(content: bytes, name: str = "photo.png", content_type: str = "image/png"):
    return SimpleUploadedFile(name, content, content_type=content_type)


@pytest.mark.parametrize(
    ("make", "image_format"),
    [
        (pictures.png, "PNG"),
        (pictures.jpeg_with_gps, "JPEG"),
        (pictures.webp, "WEBP"),
        (pictures.gif, "GIF"),
    ],
)
async def test_an_image_is_stored_under_a_generated_name_and_queued(
    api_key, media_root, make, image_format
) -> None:
    status, body, response = await _upload(
        AsyncClient(), api_key, {"file": _file(make(), "holiday.bin", "text/plain")}
    )
    assert status == 202, body
    assert body["status"] == "queued"
    assert response["Location"] == body["url"]
    assert body["url"].endswith(f"/api/images/{body['id']}/")
    job = await ImageJob.objects.aget(pk=body["id"])
    assert job.format == image_format
    assert job.original.startswith("images/")
    assert "holiday" not in job.original
    [stored] = stored_files(media_root)
    assert stored.name.startswith("original.")
    assert await DBTaskResult.objects.filter(args_kwargs__args=[job.pk]).acount() == 1


async def test_the_client_file_name_never_reaches_storage(api_key, media_root) -> None:
    name = "../../../../etc/cron.d/evil\x00.png"
    status, body, _ = await _upload(AsyncClient(), api_key, {"file": _file(pictures.png(), name)})
    assert status == 202, body
    [stored] = stored_files(media_root)
    assert stored.is_relative_to(media_root)
    assert "evil" not in str(stored)
    assert "etc" not in stored.parts


@pytest.mark.parametrize(
    ("content", "name", "status", "code"),
    [
        (b"%PDF-1.7 not an image at all", "doc.pdf", 415, "unsupported_image_type"),
        (b"hello, I am text pretending\n", "text.png", 415, "unsupported_image_type"),
        (b"", "empty.png", 400, "empty_file"),
        (pictures.pixel_bomb_png(), "bomb.png", 413, "too_many_pixels"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "broken-header.png", 400, "unreadable_image"),
    ],
    ids=["pdf", "text-named-png", "zero-bytes", "decompression-bomb", "broken-header"],
)
async def test_bad_files_are_refused_and_leave_nothing_behind(
    api_key, media_root, content, name, status, code
) -> None:
    got, body, _ = await _upload(AsyncClient(), api_key, {"file": _file(content, name)})
    assert (got, body["error"]["code"]) == (status, code), body
    assert stored_files(media_root) == []
    assert await ImageJob.objects.acount() == 0


async def test_over_the_size_limit_is_a_413(api_key, media_root) -> None:
    content = pictures.noise_png(200, 200)
    with override_settings(STOREFRONT_IMAGE_MAX_BYTES=len(content) - 1):
        status, body, _ = await _upload(AsyncClient(), api_key, {"file": _file(content)})
    assert (status, body["error"]["code"]) == (413, "payload_too_large")
    assert stored_files(media_root) == []


async def test_a_declared_length_over_the_limit_is_refused_before_a_byte_is_read(
    api_key, media_root, settings
) -> None:
    over = settings.STOREFRONT_IMAGE_MAX_BYTES + 64 * 1024 + 1  # the image and its framing
    response = await asgi_request(
        application,
        URL,
        method="POST",
        headers={
            **api_key,
            "content-type": "multipart/form-data; boundary=x",
            "content-length": str(over),
        },
        body=b"x" * 1000,
    )
    assert response.status == 413
    assert response.json()["error"]["code"] == "payload_too_large"
    assert response.body_messages_read == 0
    assert stored_files(media_root) == []


@pytest.mark.parametrize("alt", ["nul\x00byte", "bell\x07", "new\nline"])
async def test_control_characters_in_a_text_field_are_a_400_naming_it(
    api_key, media_root, alt
) -> None:
    status, body, _ = await _upload(
        AsyncClient(), api_key, {"file": _file(pictures.png()), "alt": alt}
    )
    assert status == 400
    assert body["error"]["message"].startswith("alt:")
    assert stored_files(media_root) == []


async def test_no_file_and_json_bodies_are_refused(api_key, media_root) -> None:
    status, body, _ = await _upload(AsyncClient(), api_key, {"alt": "nothing"})
    assert (status, body["error"]["code"]) == (400, "missing_file")
    response = await AsyncClient().post(
        URL, b"{}", content_type="application/json", headers=api_key
    )
    assert response.status_code == 415


async def test_a_read_only_key_and_no_key_may_not_upload(read_only_key, media_root) -> None:
    status, body, _ = await _upload(AsyncClient(), read_only_key, {"file": _file(pictures.png())})
    assert (status, body["error"]["code"]) == (403, "insufficient_scope")
    status, _, _ = await _upload(AsyncClient(), {}, {"file": _file(pictures.png())})
    assert status == 401
    assert stored_files(media_root) == []


async def test_a_staff_session_may_upload_with_its_csrf_token(staff_user, media_root) -> None:
    client = AsyncClient(enforce_csrf_checks=True)
    await client.aforce_login(staff_user)
    refused = await client.post(URL, {"file": _file(pictures.png())})
    assert refused.status_code == 403
    page = await client.get("/")
    token = client.cookies["csrftoken"].value
    assert page.status_code == 200
    status, body, _ = await _upload(client, {"X-CSRFToken": token}, {"file": _file(pictures.png())})
    assert status == 202, body


async def test_a_job_is_visible_to_its_owner_only(api_key, read_only_key, media_root) -> None:
    _, body, _ = await _upload(AsyncClient(), api_key, {"file": _file(pictures.png())})
    mine = await AsyncClient().get(body["url"], headers=api_key)
    assert mine.status_code == 200
    assert orjson.loads(mine.content)["status"] == "queued"
    theirs = await AsyncClient().get(body["url"], headers=read_only_key)
    assert theirs.status_code == 404
    assert orjson.loads(theirs.content)["error"]["code"] == "not_found"
    missing = await AsyncClient().get(f"{URL}999999/", headers=api_key)
    assert orjson.loads(missing.content) == orjson.loads(theirs.content) | {
        "error": {"code": "not_found", "message": "No image job 999999."}
    }


async def test_a_malformed_multipart_body_is_a_400(api_key, media_root) -> None:
    response = await AsyncClient().generic(
        "POST",
        URL,
        b'--x\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\n\r\nabc',
        content_type="multipart/form-data; boundary=x",
        headers=api_key,
    )
    assert response.status_code == 400
    assert orjson.loads(response.content)["error"]["code"] in (
        "missing_file",
        "malformed_multipart",
    )
    assert stored_files(media_root) == []
