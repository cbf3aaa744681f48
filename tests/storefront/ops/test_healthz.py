"""``GET /healthz``: the loop answers, and says what this worker's admission door holds."""

from __future__ import annotations

from chorus.server._asgi import ChorusASGIHandler
from tests.fixtures.asgi import asgi_request


async def test_healthz_answers_with_the_door_of_this_worker(settings):
    settings.CHORUS = {
        **settings.CHORUS,
        "ADMISSION": {"MAX_IN_FLIGHT": 64, "EXEMPT": ["/healthz"]},
    }
    response = await asgi_request(ChorusASGIHandler(), "/healthz")
    assert response.status == 200
    assert response.json() == {
        "status": "ok",
        "door": {"limit": 64, "in_flight": 0, "waiting": 0},
    }


async def test_healthz_without_a_door_says_so(settings):
    settings.CHORUS = {**settings.CHORUS, "ADMISSION": {}}
    response = await asgi_request(ChorusASGIHandler(), "/healthz")
    assert response.json()["door"] == {"limit": None, "in_flight": 0, "waiting": 0}
