"""Prometheus metrics. Defined once per process: the default registry rejects duplicates.

With several uvicorn workers, `python -m app` points PROMETHEUS_MULTIPROC_DIR at a
shared directory so /metrics aggregates every worker instead of whichever answered.
"""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

HTTP_REQUESTS = Counter(
    "http_requests_total", "HTTP requests by route template", ["method", "route", "status"]
)
HTTP_DURATION = Histogram(
    "http_request_duration_seconds",
    "HTTP request latency by route template",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
MCP_TOOL_CALLS = Counter(
    "mcp_tool_calls_total", "Todo tool calls (MCP and chat parser)", ["tool", "result"]
)
DB_ERRORS = Counter("db_errors_total", "Database errors seen by the engine")
LLM_FALLBACKS = Counter(
    "llm_fallbacks_total", "Chat turns answered by the built-in parser after an LLM failure"
)


def render() -> tuple[bytes, str]:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    from prometheus_client import REGISTRY

    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
