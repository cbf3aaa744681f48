"""``bench/door.py``'s report: the Markdown tables for ``bench/README.md`` and the chart of
the door's limit over time (``bench/results/door.png``), from the rows it measured."""

from __future__ import annotations

import statistics
from pathlib import Path


def healthy_table(rows: list[dict]) -> str:
    lines = ["| configuration | round | requests/s | x door off | p50 ms | p99 ms | x door off p99 "
             "| non-2xx | socket errors | /healthz p99 ms |",
             "|---|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
    off = {r["round"]: r for r in rows if r["config"] == "door off"}
    for row in rows:
        ref = off.get(row["round"])
        lines.append(
            f"| {row['config']} | {row['round']} | {row['rps']:,.0f} "
            f"| {row['rps'] / ref['rps'] if ref else float('nan'):.2f} | {row['p50_ms']:.0f} "
            f"| {row['p99_ms']:.0f} | {row['p99_ms'] / ref['p99_ms'] if ref else float('nan'):.2f} "
            f"| {row['non_2xx']} | {row['socket_errors']} | {row['healthz_p99_ms']:.1f} |"
        )
    for label in dict.fromkeys(r["config"] for r in rows):
        mine = [r for r in rows if r["config"] == label]
        ratios = [r["rps"] / off[r["round"]]["rps"] for r in mine if r["round"] in off]
        p99s = [r["p99_ms"] / off[r["round"]]["p99_ms"] for r in mine if r["round"] in off]
        lines.append(f"| **{label}, median** | | {statistics.median(r['rps'] for r in mine):,.0f} "
                     f"| {statistics.median(ratios):.2f} "
                     f"| {statistics.median(r['p50_ms'] for r in mine):.0f} "
                     f"| {statistics.median(r['p99_ms'] for r in mine):.0f} "
                     f"| {statistics.median(p99s):.2f} | {sum(r['non_2xx'] for r in mine)} "
                     f"| {sum(r['socket_errors'] for r in mine)} "
                     f"| {statistics.median(r['healthz_p99_ms'] for r in mine):.1f} |")  # fmt: skip
    return "\n".join(lines)


def overload_table(rows: list[dict]) -> str:
    lines = ["| configuration | load | requests/s | p99 ms (worst route) | 2xx | 5xx in the access log (this build: door 503s too) "
             "| 504 | door 503 | wrk non-2xx | wrk socket errors | /healthz p50 ms "
             "| /healthz p99 ms | /healthz unanswered |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for row in rows:
        for phase, name in (("soak", "soak mix, 200 conn."), ("burst", "burst")):
            data = row[phase]
            if phase == "burst":
                name = f"burst, {data['connections']:,} conn."
            codes = data["statuses"]
            two = sum(v for k, v in codes.items() if k.startswith("2"))
            five = sum(v for k, v in codes.items() if k.startswith("5"))
            lines.append(
                f"| {row['config']} | {name} | {data['rps']:,.0f} | {data['p99_ms']:,.0f} "
                f"| {two:,} | {five:,} | {codes.get('504', 0)} | {data['door_503']} "
                f"| {data['non_2xx']:,} | {data['socket_errors']:,} "
                f"| {data['healthz_p50_ms']:.1f} | {data['healthz_p99_ms']:.1f} "
                f"| {data['healthz_failed']} |"
            )
    return "\n".join(lines)


def chart(healthy_rows: list[dict], overload_rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    def has_door(samples: list) -> bool:
        return any(d and d.get("limit") is not None for _, _, d in samples)

    panels = [(f"healthy saturation, 256 connections, round 1 ({r['config']})", r["probe"], None)
              for r in healthy_rows if r["round"] == 1 and has_door(r["probe"])]  # fmt: skip
    for row in overload_rows:
        samples = row["soak"]["probe"] + row["burst"]["probe"]
        burst_at = row["burst"]["probe"][0][0] if row["burst"]["probe"] else None
        if has_door(samples):
            panels.append((f"overload: the soak's mix, then the burst ({row['config']})",
                           samples, burst_at))  # fmt: skip
    count = len(panels) + (1 if overload_rows else 0)
    if not count:
        return
    figure, axes = plt.subplots(count, 1, figsize=(10, 3.4 * count), squeeze=False)
    for axis, (title, samples, burst_at) in zip(axes[:, 0], panels, strict=False):
        with_door = [(t, d) for t, _, d in samples if d and d.get("limit") is not None]
        ts = [t for t, _ in with_door]
        axis.plot(ts, [d["limit"] for _, d in with_door], label="limit", linewidth=1.5)
        axis.plot(ts, [d["in_flight"] for _, d in with_door], label="in flight", alpha=0.6)
        axis.plot(ts, [d["waiting"] for _, d in with_door], label="waiting", alpha=0.6)
        if burst_at is not None:
            axis.axvline(burst_at, color="grey", linestyle="--", label="burst starts")
        axis.set_title(title)
        axis.set_ylabel("requests")
        axis.set_yscale("symlog", linthresh=10)
        axis.set_ylim(bottom=0)
        axis.legend(fontsize=7, loc="upper left")
    if overload_rows:
        axis = axes[-1, 0]
        for row in overload_rows:
            samples = row["soak"]["probe"] + row["burst"]["probe"]
            points = [(t, ms) for t, ms, _ in samples if ms is not None]
            axis.plot([t for t, _ in points], [ms for _, ms in points], ".", markersize=2,
                      label=row["config"])  # fmt: skip
        axis.axhline(50, color="grey", linestyle=":", label="50 ms")
        axis.set_title("overload: /healthz latency (each probe; gaps: the probe was waiting)")
        axis.set_ylabel("ms")
        axis.set_yscale("log")
        axis.legend(fontsize=7, loc="upper left", markerscale=4)
    axes[-1, 0].set_xlabel("seconds since the load started (/healthz asked every 100 ms)")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
