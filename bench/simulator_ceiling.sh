#!/usr/bin/env bash
# The upstream simulator's own ceiling: how many requests per second one
# uvicorn worker serves, so that figures measured through chorus can be told
# apart from the simulator's limits. wrk against 127.0.0.1 only.
#
#   bench/simulator_ceiling.sh            # prints a markdown table
#   PORT=8199 DURATION=10s THREADS=1 CONNECTIONS="64 256" bench/simulator_ceiling.sh
set -euo pipefail

cd "$(dirname "$0")/.."
python=$(uv run python -c 'import sys; print(sys.executable)')
# A free port unless told: a fixed one may already be serving someone else's run.
PORT="${PORT:-$("$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}"
DURATION="${DURATION:-10s}"
THREADS="${THREADS:-1}"
CONNECTIONS="${CONNECTIONS:-64 256}"
BASE="http://127.0.0.1:${PORT}"
URL="${BASE}/users/summary"

command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk" >&2; exit 1; }

# The interpreter itself, not `uv run`, so that the signal below reaches the server.
"$python" manage.py upstreams --host 127.0.0.1 --port "$PORT" >/dev/null &
server_pid=$!
trap 'kill -TERM "$server_pid" 2>/dev/null; wait "$server_pid" 2>/dev/null || true' EXIT

for _ in $(seq 100); do
    kill -0 "$server_pid" 2>/dev/null || { echo "the simulator did not start" >&2; exit 1; }
    curl -sf -o /dev/null "${BASE}/_faults" && break
    sleep 0.1
done

run() {  # latency_ms connections
    curl -sf -o /dev/null -X PUT "${BASE}/_faults/users" -d "{\"latency_ms\": $1}"
    wrk -t1 -c"$2" -d2s "$URL" >/dev/null  # warm-up
    local out
    out=$(wrk -t"$THREADS" -c"$2" -d"$DURATION" --latency "$URL")
    local rps p50 p99 errors
    rps=$(awk '/^Requests\/sec:/ {printf "%.0f", $2}' <<<"$out")
    p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
    p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
    errors=$(awk '/Non-2xx|Socket errors/ {sub(/^ +/, ""); printf "%s; ", $0}' <<<"$out")
    echo "| ${1} ms | $2 | ${rps} | ${p50} | ${p99} | ${errors:-none} |"
}

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
echo "| latency | connections | requests/s | p50 | p99 | errors |"
echo "|---|---|---|---|---|---|"
for latency in 0 100; do
    for connections in $CONNECTIONS; do
        run "$latency" "$connections"
    done
done
echo
echo "$(nproc) cores: $(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo);" \
    "wrk ${THREADS} thread(s), ${DURATION} per run, one uvicorn worker (uvloop, httptools);" \
    "load average before the runs: ${load_before}."
