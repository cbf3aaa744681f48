"""Run uvicorn with its memory accounted for: Python's heap, malloc's arenas, SQLite's own.

    python bench/traced_worker.py OUT_DIR FRAMES <uvicorn's arguments>

Every 2 s, ``OUT_DIR/memory.tsv`` gets a line (MiB): the process's RSS and
thread count; ``tracemalloc``'s traced total (the Python allocators, when
FRAMES > 0); glibc's ``mallinfo2()`` over all arenas: bytes in use, bytes free
but kept (fragments and free tops), bytes in separate mmaps; and SQLite's
``sqlite3_memory_used()`` now and its high-water mark (page caches, schemas,
statements: all its connections). With FRAMES > 0, each SIGUSR1 takes a
snapshot: the first is the baseline, each later one writes
``OUT_DIR/diff-N.txt``, the top 30 differences from the baseline by line and by
traceback. Each SIGUSR2 calls ``malloc_trim(0)`` (glibc gives the free pages of
every arena back) and writes RSS before and after to ``OUT_DIR/trim.txt``: the
part of RSS that was free memory the allocator kept. ``bench/soak.py --memory DIR`` runs the worker this way and sends
the signals after the warm-up window and at the end. Each SIGUSR1 also writes
``OUT_DIR/pymalloc-N.txt`` (``sys._debugmallocstats()``: pymalloc's arenas and
pools, which hold Python's small objects outside malloc).
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time
import tracemalloc
from pathlib import Path
from typing import Any

IGNORE = (
    tracemalloc.Filter(False, tracemalloc.__file__),
    tracemalloc.Filter(False, "<frozen importlib._bootstrap>"),
    tracemalloc.Filter(False, "<frozen importlib._bootstrap_external>"),
    tracemalloc.Filter(False, "<unknown>"),
)
MIB = 2**20


class _MallInfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            *("arena", "ordblks", "smblks", "hblks", "hblkhd"),
            *("usmblks", "fsmblks", "uordblks", "fordblks", "keepcost"),
        )
    ]


def _probes() -> tuple[Any, Any]:
    import _sqlite3

    mallinfo2 = ctypes.CDLL(None).mallinfo2
    mallinfo2.restype = _MallInfo2
    status = ctypes.CDLL(_sqlite3.__file__).sqlite3_status64  # libsqlite3, as linked
    status.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int]
    return mallinfo2, status


def _status() -> tuple[float, int]:
    rss_kib = threads = 0
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                rss_kib = int(line.split()[1])
            elif line.startswith("Threads:"):
                threads = int(line.split()[1])
    return rss_kib / 1024, threads


def _pymalloc_stats(path: Path) -> None:
    """``sys._debugmallocstats()`` (it writes to C's stderr) into ``path``: pymalloc's arenas."""
    sys.stderr.flush()
    saved = os.dup(2)
    with path.open("w") as text:
        os.dup2(text.fileno(), 2)
        try:
            sys._debugmallocstats()
            ctypes.CDLL(None).fflush(None)
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def main() -> None:
    out, frames, uvicorn_args = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3:]
    out.mkdir(parents=True, exist_ok=True)
    if frames:
        tracemalloc.start(frames)
    started = time.monotonic()
    snapshots: list[tracemalloc.Snapshot] = []
    dumps: list[float] = []
    mallinfo2, sqlite_status = _probes()

    def series() -> None:
        used, high = ctypes.c_int64(), ctypes.c_int64()
        with (out / "memory.tsv").open("w") as tsv:
            tsv.write("s\trss\tthreads\ttraced\tmalloc_used\tmalloc_free\tmalloc_mmap\tsqlite\tsqlite_high\n")  # fmt: skip
            while True:
                rss, threads = _status()
                traced = tracemalloc.get_traced_memory()[0] / MIB
                info = mallinfo2()
                sqlite_status(0, ctypes.byref(used), ctypes.byref(high), 0)  # MEMORY_USED
                tsv.write(
                    f"{time.monotonic() - started:.0f}\t{rss:.1f}\t{threads}\t{traced:.1f}\t"
                    f"{info.uordblks / MIB:.1f}\t{info.fordblks / MIB:.1f}\t"
                    f"{info.hblkhd / MIB:.1f}\t{used.value / MIB:.1f}\t{high.value / MIB:.1f}\n"
                )
                tsv.flush()
                time.sleep(2)

    def dump(signum: int, frame: object) -> None:
        dumps.append(time.monotonic())
        _pymalloc_stats(out / f"pymalloc-{len(dumps)}.txt")
        if not frames:
            return
        snapshot = tracemalloc.take_snapshot().filter_traces(IGNORE)
        snapshots.append(snapshot)
        if len(snapshots) == 1:
            return
        rss, threads = _status()
        with (out / f"diff-{len(snapshots) - 1}.txt").open("w") as text:
            traced = sum(stat.size for stat in snapshot.statistics("filename"))
            base = sum(stat.size for stat in snapshots[0].statistics("filename"))
            text.write(
                f"at {time.monotonic() - started:.0f} s: traced {base / MIB:.1f} -> "
                f"{traced / MIB:.1f} MiB, RSS {rss:.1f} MiB, {threads} threads\n\n"
            )
            for key in ("lineno", "traceback"):
                text.write(f"== top 30 by {key} ==\n")
                for stat in snapshot.compare_to(snapshots[0], key)[:30]:
                    text.write(f"{stat.size_diff / 1024:+.1f} KiB ({stat.count_diff:+d} blocks), "
                               f"now {stat.size / 1024:.1f} KiB\n")  # fmt: skip
                    lines = stat.traceback.format() if key == "traceback" else [str(stat.traceback)]
                    text.writelines(f"    {line}\n" for line in lines)
                text.write("\n")

    def trim(signum: int, frame: object) -> None:
        before = _status()[0]
        info = mallinfo2()
        libc.malloc_trim(0)
        with (out / "trim.txt").open("a") as text:
            text.write(
                f"at {time.monotonic() - started:.0f} s: malloc_trim(0): RSS {before:.1f} -> "
                f"{_status()[0]:.1f} MiB (malloc had {info.uordblks / MIB:.1f} MiB in use, "
                f"{info.fordblks / MIB:.1f} MiB free)\n"
            )

    libc = ctypes.CDLL(None)
    signal.signal(signal.SIGUSR1, dump)
    signal.signal(signal.SIGUSR2, trim)
    threading.Thread(target=series, daemon=True).start()
    sys.argv = ["uvicorn", *uvicorn_args]
    from uvicorn.main import main as uvicorn_main

    uvicorn_main()


if __name__ == "__main__":
    main()
