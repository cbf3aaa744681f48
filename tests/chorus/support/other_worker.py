"""Another worker: its own process, ``CHORUS`` with one upstream ``svc`` and a Redis, one job."""

import asyncio
import json
import subprocess
import sys
import textwrap

PREAMBLE = textwrap.dedent(
    """
    import asyncio, json, sys
    import django
    from django.conf import settings

    settings.configure(
        INSTALLED_APPS=["chorus"],
        CHORUS={"UPSTREAMS": {"svc": json.loads(sys.argv[1])}, "REDIS_URL": sys.argv[2]},
    )
    django.setup()
    import chorus

    async def main():
    {job}
        await chorus.aclose_transport()
        await chorus.engine._redis.aclose_redis()

    asyncio.run(main())
    """
)


async def run_other_worker(upstream: dict, redis_url: str, job: str) -> str:
    """What ``job`` (the body of an ``async def``, ``chorus`` imported) printed in a new process."""
    script = PREAMBLE.replace("{job}", textwrap.indent(textwrap.dedent(job), "    "))
    worker = await asyncio.create_subprocess_exec(
        sys.executable, "-c", script, json.dumps(upstream), redis_url, stdout=subprocess.PIPE
    )
    output, _ = await worker.communicate()
    assert worker.returncode == 0
    return output.decode()
