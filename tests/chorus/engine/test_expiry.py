"""One timer for a fan-out's time limits: each task is cancelled at its own limit."""

import asyncio

from chorus.engine._expiry import Expiries


async def sleeper(seconds=10.0):
    await asyncio.sleep(seconds)


async def test_each_task_is_cancelled_at_its_own_limit_in_turn():
    loop = asyncio.get_running_loop()
    expiries = Expiries(loop)
    now = loop.time()
    late, early = asyncio.create_task(sleeper()), asyncio.create_task(sleeper())
    expiries.add(late, now + 0.10)
    expiries.add(early, now + 0.03)
    await asyncio.sleep(0.06)
    assert early.cancelled()
    assert not late.done()
    await asyncio.sleep(0.08)
    assert late.cancelled()
    assert expiries.expired == {early, late}


async def test_a_task_done_before_its_limit_is_left_alone():
    loop = asyncio.get_running_loop()
    expiries = Expiries(loop)
    quick = asyncio.create_task(sleeper(0.01))
    slow = asyncio.create_task(sleeper())
    expiries.add(quick, loop.time() + 0.03)
    expiries.add(slow, loop.time() + 0.05)
    await asyncio.sleep(0.08)
    assert quick.done()
    assert not quick.cancelled()
    assert slow.cancelled()
    assert expiries.expired == {slow}


async def test_close_stops_every_limit():
    loop = asyncio.get_running_loop()
    expiries = Expiries(loop)
    task = asyncio.create_task(sleeper(0.08))
    expiries.add(task, loop.time() + 0.02)
    expiries.close()
    await task  # ran to its end: nothing cancelled it
    assert expiries.expired == set()


async def test_a_limit_already_past_fires_at_once():
    loop = asyncio.get_running_loop()
    expiries = Expiries(loop)
    task = asyncio.create_task(sleeper())
    expiries.add(task, loop.time() - 1)
    await asyncio.sleep(0.01)
    assert task.cancelled()
