"""A Composite's declared calls are planned once per settings; factories run per request."""

from typing import ClassVar

import orjson
import pytest
from django.test import RequestFactory, override_settings

import chorus
from chorus.views._blueprint import planned_sources


def _settings(recorder_url: str, timeout: float) -> dict[str, object]:
    return {"UPSTREAMS": {"svc": {"BASE_URL": recorder_url + "/svc", "TIMEOUT": timeout}}}


def test_a_declared_call_is_planned_once_for_every_request(settings):
    settings.CHORUS = _settings("http://127.0.0.1:9", 0.3)
    sources = {"svc": chorus.call("svc", "/a")}
    request = RequestFactory().get("/")
    first, _ = planned_sources(sources, request, {})
    second, _ = planned_sources(sources, request, {})
    assert first["svc"] is second["svc"]
    assert first["svc"].timeout == 0.3


def test_a_settings_change_plans_the_declarations_again(settings):
    settings.CHORUS = _settings("http://127.0.0.1:9", 0.3)
    sources = {"svc": chorus.call("svc", "/a")}
    request = RequestFactory().get("/")
    before, _ = planned_sources(sources, request, {})
    with override_settings(CHORUS=_settings("http://127.0.0.1:9", 0.7)):
        during, _ = planned_sources(sources, request, {})
    after, _ = planned_sources(sources, request, {})
    assert [before["svc"].timeout, during["svc"].timeout, after["svc"].timeout] == [0.3, 0.7, 0.3]
    assert during["svc"].upstream is not before["svc"].upstream


def test_an_upstream_removed_from_settings_fails_the_next_request(settings):
    settings.CHORUS = _settings("http://127.0.0.1:9", 0.3)
    sources = {"svc": chorus.call("svc", "/a")}
    planned_sources(sources, RequestFactory().get("/"), {})
    with (
        override_settings(CHORUS={"UPSTREAMS": {}}),
        pytest.raises(chorus.UnknownUpstreamError),
    ):
        planned_sources(sources, RequestFactory().get("/"), {})


def test_factories_are_called_for_every_request(settings):
    settings.CHORUS = _settings("http://127.0.0.1:9", 0.3)
    made: list[str] = []

    def item(request, sku):
        made.append(sku)
        return chorus.call("svc", "/items/{sku}", path_params={"sku": sku})

    sources = {"item": item}
    first, _ = planned_sources(sources, RequestFactory().get("/"), {"sku": "a"})
    second, _ = planned_sources(sources, RequestFactory().get("/"), {"sku": "b"})
    assert made == ["a", "b"]
    assert first["item"].spec.path == "/items/a"
    assert second["item"].spec.path == "/items/b"


def test_a_bad_source_name_is_refused_on_every_request(settings):
    settings.CHORUS = _settings("http://127.0.0.1:9", 0.3)
    sources = {"no spaces": chorus.call("svc", "/a")}
    for _ in range(2):
        with pytest.raises(ValueError, match="must be 1-64 letters"):
            planned_sources(sources, RequestFactory().get("/"), {})


async def test_the_view_follows_override_settings(settings, recorder):
    settings.CHORUS = _settings(recorder.url, 1.0)
    view = chorus.Composite.as_view(sources={"svc": chorus.call("svc", "/a")})
    assert (await view(RequestFactory().get("/"))).status_code == 200
    with override_settings(CHORUS=_settings(recorder.url + "/moved", 1.0)):
        assert (await view(RequestFactory().get("/"))).status_code == 200
    assert [request.path for request in recorder.requests] == ["/svc/a", "/moved/svc/a"]


async def test_a_subclass_that_builds_its_own_sources_is_honoured(settings, recorder):
    settings.CHORUS = _settings(recorder.url, 1.0)

    class Built(chorus.Composite):
        sources: ClassVar = {"svc": chorus.call("svc", "/declared")}

        def build_sources(self, request, **kwargs):
            return {"svc": chorus.call("svc", "/built")}

    response = await Built.as_view()(RequestFactory().get("/"))
    assert orjson.loads(response.content)["sources"]["svc"]["status"] == "ok"
    assert [request.path for request in recorder.requests] == ["/svc/built"]
