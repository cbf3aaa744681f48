"""nginx with the echo module as the benchmark's upstream: a C server that never limits.

Serves the three dashboard paths with ``echo_sleep 0.1`` and the simulator's
own JSON bodies, one worker process, keep-alive without a request cap.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

from harness import running

from upstreams.catalog import build_catalog

ECHO_MODULE = Path("/usr/lib/nginx/modules/ngx_http_echo_module.so")
PATHS = {"inventory": "/stock", "notifications": "/recent", "analytics": "/summary",
         "users": "/summary", "billing": "/summary"}  # fmt: skip


def ensure_nginx() -> str:
    if not (shutil.which("nginx") and ECHO_MODULE.exists()):
        subprocess.run(["apt-get", "update", "-qq"], check=True)
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "nginx-light", "libnginx-mod-http-echo"],
            check=True,
        )
    return shutil.which("nginx") or "/usr/sbin/nginx"


def _config(workdir: Path, port: int, latency_s: float) -> str:
    catalog = build_catalog()
    locations = []
    for service, path in PATHS.items():
        body = catalog.lookup(service, path)
        assert body is not None
        text = body.content.decode().replace("'", "\u2019")
        locations.append(
            f"location = /{service}{path} {{ default_type application/json; "
            f"echo_sleep {latency_s}; echo '{text}'; }}"
        )
    temp = {name: workdir / name for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi")}
    return f"""
daemon off;
worker_processes 1;
pid {workdir}/nginx.pid;
error_log {workdir}/error.log warn;
load_module {ECHO_MODULE};
events {{ worker_connections 8192; }}
http {{
    access_log off;
    keepalive_requests 1000000;
    keepalive_timeout 75s;
    client_body_temp_path {temp["body"]};
    proxy_temp_path {temp["proxy"]};
    fastcgi_temp_path {temp["fastcgi"]};
    uwsgi_temp_path {temp["uwsgi"]};
    scgi_temp_path {temp["scgi"]};
    server {{
        listen 127.0.0.1:{port};
        location = /healthz {{ echo ok; }}
        {chr(10).join(locations)}
    }}
}}
"""


@contextlib.contextmanager
def nginx_upstream(port: int, latency_s: float = 0.1) -> Iterator[None]:
    binary = ensure_nginx()
    with tempfile.TemporaryDirectory(prefix="chorus-nginx-") as raw:
        workdir = Path(raw)
        config = workdir / "nginx.conf"
        config.write_text(_config(workdir, port, latency_s))
        argv = [binary, "-p", str(workdir), "-c", str(config)]
        with running(argv, ready_url=f"http://127.0.0.1:{port}/healthz"):
            yield
