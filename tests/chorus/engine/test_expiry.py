"""One timer for a fan-out's time limits: each task is cancelled at its own limit."""

import asyncio

from chorus.engine._expiry import DEADLINE, Expiries, by_deadline, deadline_at


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


async def test_limits_added_together_each_cancel_at_their_own_time():
    loop = asyncio.get_running_loop()
    expiries = Expiries(loop)
    now = loop.time()
    late, early, earliest = (asyncio.create_task(sleeper()) for _ in range(3))
    expiries.add_all([(late, now + 0.12), (early, now + 0.06)])
    expiries.add(earliest, now + 0.02)  # sooner than the timer set for the two
    await asyncio.sleep(0.04)
    assert earliest.cancelled()
    assert not early.done()
    await asyncio.sleep(0.04)
    assert early.cancelled()
    assert not late.done()
    await asyncio.sleep(0.07)
    assert late.cancelled()
    assert expiries.expired == {earliest, early, late}


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


# -- why a task was cancelled: what chorus.engine._expiry relies on ---------------------


async def reason_seen(waiting, *cancels):
    """Cancel a task waiting in ``waiting(future)`` with each message in ``cancels``
    (``None``: no message); what ``by_deadline`` says where it catches the cancellation."""
    future = asyncio.get_running_loop().create_future()
    seen = []

    async def nested():
        await waiting(future)

    async def catcher():
        try:
            await nested()
        except asyncio.CancelledError as error:
            seen.append(by_deadline(error))

    task = asyncio.create_task(catcher())
    await asyncio.sleep(0)
    for message in cancels:
        task.cancel(msg=message)
    await task
    return seen[0]


async def plain(future):
    await future


async def shielded(future):
    await asyncio.shield(future)


async def in_a_timeout(future):
    async with asyncio.timeout(10):
        await asyncio.shield(future)


async def waited(future):
    await asyncio.wait([future])


async def test_the_deadline_message_reaches_every_kind_of_wait():
    for waiting in (plain, shielded, in_a_timeout, waited):
        assert await reason_seen(waiting, DEADLINE) is True, waiting
        assert await reason_seen(waiting, None) is False, waiting
        assert await reason_seen(waiting, "someone else") is False, waiting


async def test_a_deadline_joined_by_another_cancel_is_not_the_deadline_alone():
    # The first message is the one delivered; cancelling() counts both.
    assert await reason_seen(plain, DEADLINE, None) is False
    assert await reason_seen(plain, None, DEADLINE) is False


async def test_expiries_cancel_with_the_deadline_message():
    loop = asyncio.get_running_loop()
    expiries = Expiries(loop)
    seen = []

    async def source():
        try:
            await sleeper()
        except asyncio.CancelledError as error:
            seen.append(by_deadline(error))
            raise

    task = asyncio.create_task(source())
    expiries.add(task, loop.time() + 0.01)
    await asyncio.wait([task])
    assert seen == [True]


async def test_deadline_at_is_a_timeout_with_the_deadline_message():
    loop = asyncio.get_running_loop()
    seen = []
    try:
        async with deadline_at(loop.time() + 0.01):
            try:
                await sleeper()
            except asyncio.CancelledError as error:
                seen.append(by_deadline(error))
                raise
    except TimeoutError:
        seen.append("timeout")
    assert seen == [True, "timeout"]
    assert asyncio.current_task().cancelling() == 0  # its cancel request was withdrawn


async def test_deadline_at_leaves_a_block_that_swallowed_its_cancel_uncancelled():
    loop = asyncio.get_running_loop()
    answered = None
    async with deadline_at(loop.time() + 0.01):
        try:
            await sleeper()
        except asyncio.CancelledError:
            answered = "stale"  # answered otherwise, as the cache does
    assert answered == "stale"
    assert asyncio.current_task().cancelling() == 0
    await asyncio.sleep(0)  # not cancelled again


async def test_deadline_at_lets_another_cancel_go_on():
    loop = asyncio.get_running_loop()

    async def block():
        async with deadline_at(loop.time() + 10):
            await sleeper()

    task = asyncio.create_task(block())
    await asyncio.sleep(0)
    task.cancel()
    await asyncio.wait([task])
    assert task.cancelled()


async def test_deadline_at_none_never_fires():
    async with deadline_at(None):
        await asyncio.sleep(0.01)
