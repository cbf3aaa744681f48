"""Requests' sync code on a bounded set of threads: a burst waits on the loop, not in threads."""

import asyncio
import threading
import time
from concurrent.futures import Future

import pytest

from chorus.server import ChorusASGIHandler
from chorus.server._sync_threads import RequestExecutor, SyncThreads, sync_threads
from tests.chorus.support import asgi_urls
from tests.fixtures.asgi import asgi_request

pytestmark = pytest.mark.urls("tests.chorus.support.asgi_urls")

# Threads a burst may add beyond the pool's: the sampler's own, the loop's default
# executor (a few), asgiref's shared thread.
SMALL_CONSTANT = 8


class PeakThreads:
    """The most threads alive at once while in use, sampled every millisecond."""

    def __init__(self) -> None:
        self.peak = threading.active_count()
        self._stop = threading.Event()
        self._sampler = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(0.001):
            self.peak = max(self.peak, threading.active_count())

    def __enter__(self) -> "PeakThreads":
        self._sampler.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._sampler.join()


@pytest.mark.django_db(transaction=True)
async def test_a_burst_of_orm_requests_peaks_at_the_pools_threads_and_loses_none(settings):
    # chorus alone: no door, no rate limit; the burst is about threads.
    settings.CHORUS = {}
    settings.MIDDLEWARE = ["chorus.server.RequestIDMiddleware"]
    handler = ChorusASGIHandler()
    before = threading.active_count()
    with PeakThreads() as threads:
        responses = await asyncio.gather(*(asgi_request(handler, "/orm/") for _ in range(1000)))
    assert [r.status for r in responses] == [200] * 1000
    assert threads.peak - before <= sync_threads().size + SMALL_CONSTANT


@pytest.mark.django_db(transaction=True)
async def test_threads_are_kept_and_lent_to_the_next_request():
    handler = ChorusASGIHandler()
    used = set()
    for _ in range(5):
        asgi_urls.seen.clear()
        assert (await asgi_request(handler, "/orm/")).status == 200
        used.add(asgi_urls.seen["orm_thread"])
    assert len(used) == 1


async def test_a_request_without_sync_code_borrows_no_thread():
    threads = SyncThreads(1)
    waiting = RequestExecutor(threads)
    waiting.submit(time.sleep, 0.2)
    other = RequestExecutor(threads)  # never submits: never queued, never blocked
    other.release()
    assert threads.waiting == 0
    waiting.release()


def wait_for(future: Future, timeout: float = 5.0):
    return future.result(timeout=timeout)


async def test_a_second_request_waits_for_the_first_to_give_its_thread_back():
    threads = SyncThreads(1)
    first, second = RequestExecutor(threads), RequestExecutor(threads)
    first_thread = wait_for(first.submit(threading.get_ident))
    queued = second.submit(threading.get_ident)
    await asyncio.sleep(0.05)
    assert not queued.done()
    assert threads.waiting == 1

    first.release()

    assert wait_for(queued) == first_thread  # the same thread, lent on
    second.release()


async def test_a_thread_still_running_a_cancelled_requests_query_is_not_lent():
    threads = SyncThreads(1)
    cancelled, next_one = RequestExecutor(threads), RequestExecutor(threads)
    go_on = threading.Event()
    running = cancelled.submit(go_on.wait, 5)
    cancelled.release()  # the request ended (its client left); its query has not
    queued = next_one.submit(threading.get_ident)
    await asyncio.sleep(0.05)
    assert not queued.done()

    go_on.set()

    assert wait_for(running) is True
    wait_for(queued)
    next_one.release()


async def test_a_request_that_leaves_the_queue_takes_its_work_with_it():
    threads = SyncThreads(1)
    holder, leaver = RequestExecutor(threads), RequestExecutor(threads)
    wait_for(holder.submit(int))
    abandoned = leaver.submit(int)
    leaver.release()
    assert abandoned.cancelled()
    assert threads.waiting == 0
    holder.release()
