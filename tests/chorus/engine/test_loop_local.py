"""``LoopLocal``: one value per running event loop, made once on first use, let go with its loop."""

from __future__ import annotations

import asyncio
import gc
import weakref

import pytest

from chorus import LoopLocal


class Value:
    """A factory's product: a plain object that can be weakly referenced."""


async def _get[T](local: LoopLocal[T]) -> T:
    return local.get()


def test_the_value_is_made_once_per_loop_on_first_use():
    made: list[Value] = []

    def factory() -> Value:
        made.append(Value())
        return made[-1]

    local = LoopLocal(factory)
    assert made == []  # nothing is made before a loop asks

    async def twice() -> tuple[Value, Value]:
        return local.get(), local.get()

    first, again = asyncio.run(twice())
    assert first is again
    assert made == [first]


def test_each_loop_gets_its_own_value():
    local = LoopLocal(Value)
    with asyncio.Runner() as one, asyncio.Runner() as other:
        from_one = one.run(_get(local))
        from_other = other.run(_get(local))
        assert from_one is not from_other
        # Going back to the first loop finds its value again, not the last loop's.
        assert one.run(_get(local)) is from_one
        assert other.run(_get(local)) is from_other


def test_get_outside_a_running_loop_is_an_error():
    local = LoopLocal(Value)
    with pytest.raises(RuntimeError, match="no running event loop"):
        local.get()


async def test_pop_returns_the_running_loops_value_and_forgets_it():
    local = LoopLocal(Value)
    value = local.get()
    assert local.pop() is value
    assert local.get() is not value  # a new one is made on the next use


async def test_pop_without_a_value_returns_none():
    assert LoopLocal(Value).pop() is None


def test_pop_leaves_other_loops_values_alone():
    local = LoopLocal(Value)
    with asyncio.Runner() as one, asyncio.Runner() as other:
        kept = one.run(_get(local))

        async def pop() -> Value | None:
            return local.pop()

        assert other.run(pop()) is None
        assert one.run(_get(local)) is kept


def test_clear_forgets_every_loops_value():
    local = LoopLocal(Value)
    with asyncio.Runner() as one, asyncio.Runner() as other:
        from_one = one.run(_get(local))
        from_other = other.run(_get(local))
        local.clear()
        assert one.run(_get(local)) is not from_one
        assert other.run(_get(local)) is not from_other


def test_a_closed_and_dropped_loops_value_is_released_once_another_loop_used_it():
    local = LoopLocal(Value)
    loop = asyncio.new_event_loop()
    released = weakref.ref(loop.run_until_complete(_get(local)))
    loop.close()
    del loop
    asyncio.run(_get(local))  # another loop: the last one seen is no longer the closed one
    gc.collect()
    assert released() is None
