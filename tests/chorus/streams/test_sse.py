"""``chorus.streams.EventStreamResponse`` and ``chorus.streams.Event``: framing, heartbeats, resume, cleanup.

Streams go through chorus's real ASGI handler, so a client disconnect is the
handler's own cancellation, exactly as under uvicorn.
"""

import pytest
from django.test import AsyncRequestFactory, Client, RequestFactory

import chorus
from chorus.server import ChorusASGIHandler
from tests.chorus.support import streams_urls
from tests.chorus.support.sse_wire import parse
from tests.fixtures.asgi import asgi_request

pytestmark = pytest.mark.urls("tests.chorus.support.streams_urls")


@pytest.fixture
def app():
    return ChorusASGIHandler()


@pytest.fixture(autouse=True)
def journal():
    streams_urls.journal.clear()
    return streams_urls.journal


def test_event_fields_are_framed_in_order_and_end_with_a_blank_line():
    event = chorus.streams.Event(id="7", event="step", data="hello", retry=2500)
    assert event.encode() == b"id: 7\nevent: step\nretry: 2500\ndata: hello\n\n"


def test_multi_line_data_becomes_one_data_field_per_line_whatever_the_line_ending():
    event = chorus.streams.Event(data="one\ntwo\r\nthree\rfour")
    assert event.encode() == b"data: one\ndata: two\ndata: three\ndata: four\n\n"


def test_empty_data_still_dispatches_an_event():
    assert chorus.streams.Event(event="ping").encode() == b"event: ping\ndata: \n\n"


def test_non_string_data_is_json_on_one_line():
    event = chorus.streams.Event(data={"text": "a\nb", "n": [1, 2]})
    assert event.encode() == b'data: {"text":"a\\nb","n":[1,2]}\n\n'
    assert parse(event.encode())[0].json() == {"text": "a\nb", "n": [1, 2]}


@pytest.mark.parametrize("field", ["id", "event"])
def test_a_line_break_in_id_or_event_is_refused(field):
    with pytest.raises(ValueError, match="line break"):
        chorus.streams.Event(**{field: "a\nevent: forged"})


def test_negative_retry_is_refused():
    with pytest.raises(ValueError, match="retry"):
        chorus.streams.Event(retry=-1)


def test_last_event_id_reads_the_header_and_ignores_empty_or_oversized_values():
    factory = RequestFactory()
    assert chorus.streams.last_event_id(factory.get("/", headers={"Last-Event-ID": " 41 "})) == "41"
    assert chorus.streams.last_event_id(factory.get("/")) is None
    assert chorus.streams.last_event_id(factory.get("/", headers={"Last-Event-ID": ""})) is None
    assert (
        chorus.streams.last_event_id(factory.get("/", headers={"Last-Event-ID": "9" * 257})) is None
    )


async def test_a_stream_is_served_as_event_stream_with_no_caching_and_no_proxy_buffering(app):
    response = await asgi_request(app, "/steps/")
    assert response.status == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["x-accel-buffering"] == "no"
    frames = parse(response.body)
    assert [f.id for f in frames] == [str(n) for n in range(10)]
    assert {f.event for f in frames} == {"step"}
    assert frames[3].json() == {"step": 3}


async def test_frames_a_producer_already_encoded_are_sent_as_they_are(app):
    response = await asgi_request(app, "/encoded/")
    assert [(f.id, f.data) for f in parse(response.body)] == [
        ("1", "one"),
        ("2", "two"),
        ("3", "three"),
    ]


async def test_a_client_sending_last_event_id_resumes_after_it(app):
    response = await asgi_request(app, "/steps/", headers={"Last-Event-ID": "6"})
    assert [f.id for f in parse(response.body)] == ["7", "8", "9"]


async def test_heartbeats_flow_while_the_producer_is_idle_and_its_next_event_is_not_lost(app):
    response = await asgi_request(app, "/pause/", query="pause=0.6&heartbeat=0.1")
    frames = parse(response.body)
    assert frames[0].event == "before"
    assert frames[-1].event == "after"
    assert frames[-1].data == "two"
    middle = frames[1:-1]
    assert len(middle) >= 2
    assert all(f.data is None and f.comments == ("heartbeat",) for f in middle)


async def test_no_heartbeat_when_the_producer_is_never_idle_that_long(app):
    response = await asgi_request(app, "/pause/", query="pause=0.05&heartbeat=5")
    assert [f.event for f in parse(response.body)] == ["before", "after"]


@pytest.mark.parametrize("heartbeat", ["", "0.05"])
async def test_a_client_disconnect_ends_the_producer_and_runs_its_cleanup(app, journal, heartbeat):
    response = await asgi_request(
        app, "/endless/", query=f"heartbeat={heartbeat}", disconnect_after=0.3
    )
    assert parse(response.body)[0].event == "tick"
    assert journal == ["started", "cancelled", "finally"]


async def test_a_disconnect_between_events_closes_the_producer(app, journal):
    response = await asgi_request(app, "/chatty/", query="heartbeat=1", disconnect_after=0.2)
    assert len(parse(response.body)) > 1
    assert journal == ["finally"]


async def test_a_producer_yielding_something_else_than_an_event_fails_loudly(app):
    with pytest.raises(TypeError, match=r"chorus\.streams\.Event"):
        await asgi_request(app, "/not-events/")


def test_under_wsgi_a_stream_is_refused_with_an_error_that_says_why():
    with pytest.raises(chorus.EventStreamUnavailableError, match="ASGI server") as caught:
        Client().get("/steps/")
    assert caught.value.request_type == "WSGIRequest"


def test_under_wsgi_the_refusal_is_a_prompt_500_not_a_hung_request():
    response = Client(raise_request_exception=False).get("/steps/")
    assert response.status_code == 500
    assert not response.streaming


@pytest.mark.parametrize("heartbeat", [0, -1.0])
def test_heartbeat_must_be_a_positive_interval(heartbeat):
    request = AsyncRequestFactory().get("/")
    with pytest.raises(ValueError, match="heartbeat"):
        chorus.streams.EventStreamResponse(request, _nothing(), heartbeat=heartbeat)


async def _nothing():
    return
    yield
