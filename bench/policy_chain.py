"""CPU of chorus's policy chain alone: a three-call gather, policies off and all idle,
and all idle with a stale-if-error cache of TTL 0, each with chorus's Prometheus metrics on
(the default) and off.

    uv run python bench/policy_chain.py [--gathers 20000] [--rounds 5]

The transport is a stand-in answering at once, so what is measured is chorus:
planning the fan-out, its tasks, the chain's links and the envelope's
results. "Idle" configures a breaker (time window), a retry and a hedge on
every upstream with nothing to do (no failure, a hedge delay longer than the
call's time limit). Process CPU time per gather; the four configurations take
turns, and the medians are printed. Compare with the CPU of a whole storefront
request (``bench/profile_request.py``) to see what share the chain costs.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

import django
from django.conf import settings

settings.configure(INSTALLED_APPS=["chorus"], CHORUS={})
django.setup()

from django.test.utils import override_settings  # noqa: E402

import chorus  # noqa: E402 - needs the settings above
from chorus import TransportResponse  # noqa: E402

IDLE = {"BREAKER": {"WINDOW_SECONDS": 10.0}, "RETRY": {"ATTEMPTS": 2}, "HEDGE": {"DELAY": 5.0}}
# Idle, and a cache that never answers while the upstream does (TTL 0) but keeps each
# last good answer to stand in for a failure: what storefront gives its required upstreams.
LAST_GOOD = {**IDLE, "CACHE": {"TTL": 0, "STALE_IF_ERROR": 30.0}}
NAMES = ("inventory", "notifications", "analytics")


class AnswersAtOnce:
    async def request(self, method, url, **options):
        return TransportResponse(200, {}, b'{"ok": true}')

    async def aclose(self):
        return None


def chorus_setting(policies: dict, metrics: bool) -> dict:
    upstreams = {name: {"BASE_URL": f"http://upstream.test/{name}", "TIMEOUT": 0.5, **policies}
                 for name in NAMES}  # fmt: skip
    return {"UPSTREAMS": upstreams, "DEFAULT_DEADLINE": 2.0, "METRICS": metrics}


async def cpu_per_gather(gathers: int) -> float:
    calls = {name: chorus.call(name, "/summary") for name in NAMES}
    for _ in range(500):
        await chorus.gather(calls)
    started = time.process_time()
    for _ in range(gathers):
        await chorus.gather(calls)
    return (time.process_time() - started) / gathers * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--gathers", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    chorus.set_transport_factory(AnswersAtOnce)
    configurations = [
        (f"{name}, metrics {'on' if metrics else 'off'}", policies, metrics)
        for name, policies in (("off", {}), ("idle", IDLE), ("idle+last good", LAST_GOOD))
        for metrics in (True, False)
    ]
    measured: dict[str, list[float]] = {label: [] for label, _, _ in configurations}
    for _ in range(args.rounds):
        for label, policies, metrics in configurations:
            with override_settings(CHORUS=chorus_setting(policies, metrics)):
                measured[label].append(asyncio.run(cpu_per_gather(args.gathers)))
    for label, values in measured.items():
        rounds = ", ".join(f"{value:.1f}" for value in values)
        print(f"{label:>29}: median {statistics.median(values):.1f} us per gather ({rounds})")


if __name__ == "__main__":
    main()
