"""The envelope and its status policy."""

import orjson
import pytest

from chorus import Outcome, Result, SourceResult


def source(name, outcome, *, required=True, data=None, ms=10.0):
    return SourceResult(name=name, outcome=outcome, required=required, data=data, ms=ms)


def result(*sources):
    return Result({s.name: s for s in sources}, elapsed_ms=12.34)


def test_all_ok_is_200_and_complete():
    done = result(source("a", Outcome.OK, data={"x": 1}), source("b", Outcome.OK, data=[1]))
    response = done.response()
    body = orjson.loads(response.content)
    assert response.status_code == 200
    assert body["complete"] is True
    assert body["data"] == {"a": {"x": 1}, "b": [1]}
    assert body["elapsed_ms"] == 12.3
    assert "Chorus-Complete" not in response
    assert response["Content-Type"] == "application/json"


def test_failed_optional_source_is_200_but_incomplete():
    done = result(source("a", Outcome.OK), source("b", Outcome.TIMEOUT, required=False))
    response = done.response()
    assert response.status_code == 200
    assert response["Chorus-Complete"] == "false"
    assert orjson.loads(response.content)["complete"] is False


@pytest.mark.parametrize("outcome", [Outcome.TIMEOUT, Outcome.SKIPPED])
def test_required_source_out_of_time_is_504(outcome):
    assert result(source("a", outcome), source("b", Outcome.OK)).status_code == 504


@pytest.mark.parametrize(
    "outcome",
    [Outcome.ERROR, Outcome.BAD_STATUS, Outcome.BAD_BODY, Outcome.CIRCUIT_OPEN],
)
def test_required_source_failing_otherwise_is_502(outcome):
    assert result(source("a", outcome), source("b", Outcome.OK)).status_code == 502


def test_timeout_wins_over_other_failures_and_cancellations():
    done = result(
        source("a", Outcome.BAD_STATUS),
        source("b", Outcome.TIMEOUT),
        source("c", Outcome.CANCELLED),
    )
    assert done.status_code == 504


def test_every_source_entry_has_the_same_keys():
    done = result(source("a", Outcome.OK), source("b", Outcome.ERROR, required=False))
    entries = orjson.loads(done.response().content)["sources"]
    assert entries["a"].keys() == entries["b"].keys()
    assert entries["b"]["status"] == "error"
    assert entries["b"]["required"] is False


def test_server_timing_has_one_entry_per_source_and_total():
    done = result(source("a", Outcome.OK, ms=101.26), source("b", Outcome.TIMEOUT, ms=300))
    assert done.response()["Server-Timing"] == (
        'a;dur=101.3;desc="ok", b;dur=300.0;desc="timeout", total;dur=12.3'
    )


def test_indexing_gives_a_sources_data():
    done = result(source("a", Outcome.OK, data={"n": 3}))
    assert done["a"] == {"n": 3}
