"""The client's disconnection, watched while chorus's ASGI handler answers a request."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

from django.core.exceptions import RequestAborted

__all__ = ["Disconnection"]


class Disconnection:
    """The client's disconnection, watched while the request is handled: it cancels the
    request's task, as Django's ``handle`` does with a task group.

    A done callback instead of a ``TaskGroup``: the group would wait, after every
    answer, a turn of the loop for the cancelled listener to end, and build an
    exception group to unwrap. The listener is cancelled on the way out, not awaited:
    it only waits on ``receive``.
    """

    __slots__ = ("_error", "_listener", "_task")

    def __init__(self, listening: Coroutine[Any, Any, None]) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._task = task
        self._error: BaseException | None = None
        self._listener = asyncio.get_running_loop().create_task(listening)
        self._listener.add_done_callback(self._ended)

    def __enter__(self) -> Disconnection:
        return self

    def __exit__(self, *_: object) -> None:
        self._listener.remove_done_callback(self._ended)
        self._listener.cancel()

    def _ended(self, listener: asyncio.Task[None]) -> None:
        if listener.cancelled():
            return
        # RequestAborted when the client left; anything else is the listener's own failure,
        # which ends the request as well and is raised in its place.
        self._error = listener.exception()
        if self._error is not None:
            self._task.cancel()

    def ended_the_request(self) -> bool:
        """Whether the request's task was cancelled by this watch alone, the client gone
        (the request then ends quietly). Raises the listener's own failure, if that was it."""
        error = self._error
        if error is None or self._task.uncancel() > 0:
            return False
        if not isinstance(error, RequestAborted):
            raise error
        return True
