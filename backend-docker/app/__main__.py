"""`python -m app`: serve `app.main:app` with uvicorn, configured from the environment."""

from __future__ import annotations

import atexit
import os
import shutil
import signal
import tempfile
from types import FrameType

import uvicorn

from . import logs
from .settings import load_settings


def _exit_cleanly(signum: int, _frame: FrameType | None) -> None:
    # uvicorn drains connections on SIGTERM, then re-raises the signal to this,
    # the previous handler: exit 0 so a graceful stop does not look like a crash.
    raise SystemExit(0)


def main() -> None:
    settings = load_settings()  # exits with a readable message on bad/missing env
    logs.configure(settings.log_level)
    if settings.web_concurrency > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # Workers are separate processes; share metric files so /metrics sums them all.
        # Must be set before any worker imports prometheus_client.
        path = tempfile.mkdtemp(prefix="todo-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = path
        atexit.register(shutil.rmtree, path, True)
    signal.signal(signal.SIGTERM, _exit_cleanly)
    uvicorn.run(
        "app.main:app",
        host=settings.host,
        port=settings.port,
        workers=settings.web_concurrency,
        log_config=None,  # keep our JSON logging
        log_level=settings.log_level,
        access_log=False,  # the app logs one JSON line per request itself
        timeout_graceful_shutdown=int(settings.graceful_timeout),
        proxy_headers=True,
        server_header=False,
    )


if __name__ == "__main__":
    main()
