"""Read a ``text/event-stream`` body back into events, as the HTML spec's parser would."""

from __future__ import annotations

import re
from dataclasses import dataclass

import orjson

_BLOCK_END = re.compile(rb"\r\n\r\n|\n\n|\r\r")
_LINE = re.compile(r"\r\n|\r|\n")


@dataclass
class Frame:
    """One block: an event (``data`` set) or a comment-only block such as a heartbeat."""

    id: str | None = None
    event: str | None = None
    data: str | None = None
    retry: int | None = None
    comments: tuple[str, ...] = ()

    def json(self) -> object:
        assert self.data is not None
        return orjson.loads(self.data)


def parse(body: bytes) -> list[Frame]:
    frames = []
    for block in _BLOCK_END.split(body):
        if not block:
            continue
        frame = Frame()
        data: list[str] = []
        comments: list[str] = []
        for line in _LINE.split(block.decode()):
            if line.startswith(":"):
                comments.append(line[1:].strip())
                continue
            field, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if field == "data":
                data.append(value)
            elif field == "retry":
                frame.retry = int(value)
            elif field in ("id", "event"):
                setattr(frame, field, value)
        frame.data = "\n".join(data) if data else None
        frame.comments = tuple(comments)
        frames.append(frame)
    return frames
