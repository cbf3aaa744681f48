"""The code blocks of a docs page that name a file, written into a project as the page says.

A fenced block whose info string has ``title="path"`` is that file's content;
``title="path, at the end"`` is added to the end of the file. Blocks without a
title are illustrations and are not written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

DOCS = Path(__file__).resolve().parents[3] / "docs"

_FENCE = re.compile(r"^```(?P<info>[^\n]*)\n(?P<code>.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
_TITLE = re.compile(r'title="(?P<title>[^"]+)"')
AT_THE_END = ", at the end"


@dataclass(frozen=True)
class Block:
    path: str
    append: bool
    code: str


def titled_blocks(page: str) -> list[Block]:
    """The blocks of ``docs/<page>`` that name a file, in page order."""
    found = []
    for fence in _FENCE.finditer((DOCS / page).read_text()):
        title = _TITLE.search(fence["info"])
        if title is None:
            continue
        path = title["title"]
        append = path.endswith(AT_THE_END)
        found.append(Block(path.removesuffix(AT_THE_END), append, fence["code"]))
    return found


def apply_page(page: str, root: Path) -> list[Block]:
    """Write ``page``'s titled blocks under ``root``; return them (a page without any fails)."""
    blocks = titled_blocks(page)
    assert blocks, f"docs/{page} has no code block titled with a file"
    for block in blocks:
        target = root / block.path
        target.parent.mkdir(parents=True, exist_ok=True)
        if block.append:
            assert target.exists(), f"docs/{page} adds to {block.path}, which does not exist"
            target.write_text(target.read_text() + "\n" + block.code)
        else:
            target.write_text(block.code)
    return blocks
