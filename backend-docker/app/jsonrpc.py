"""The guard in front of the MCP transport: what reaches the SDK is a JSON-RPC message.

The SDK parses the body itself and answers what it cannot parse with a 500 (a number of
thousands of digits, a body that is not UTF-8, very deep nesting), or with pydantic's
whole report (links naming library versions) and `"id": "server-error"`. Here every such
body gets one short JSON-RPC error with HTTP 400 and `"id": null`, as JSON-RPC 2.0 wants:

| input | HTTP | code |
| --- | --- | --- |
| not UTF-8, not JSON, NaN/Infinity, a number Python cannot hold, nesting deeper than MAX_DEPTH | 400 | -32700 parse error |
| JSON that is not one JSON-RPC message (a batch, a wrong type, no method) | 400 | -32600 invalid request |
| a request for a method MCP does not define | 200 | -32601 method not found |
"""

from __future__ import annotations

import json
import math
import typing
from dataclasses import dataclass
from typing import Any

from mcp.types import ClientRequest, JSONRPCMessage, JSONRPCRequest
from pydantic import ValidationError

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
# No MCP message comes near this; the interpreter's own limit (~1000) is where parsing
# or a later model_dump would fail with RecursionError.
MAX_DEPTH = 64

# The methods a client may call (tools/list, tools/call, initialize...), from the SDK's own types.
CLIENT_METHODS: frozenset[str] = frozenset(
    typing.get_args(member.model_fields["method"].annotation)[0]
    for member in typing.get_args(ClientRequest.model_fields["root"].annotation)
)


@dataclass
class Refused(Exception):
    """A body the transport must not see, with the JSON-RPC error that answers it."""

    http_status: int
    code: int
    message: str
    id: int | str | None = None

    def body(self) -> bytes:
        return error_body(self.code, self.message, self.id)


def error_body(code: int, message: str, request_id: int | str | None = None) -> bytes:
    return json.dumps({"jsonrpc": "2.0", "id": request_id, "error": {"code": code, "message": message}}).encode()


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e999
        raise ValueError("number out of range")
    return value


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _too_deep(value: Any) -> bool:
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else ()
        for child in children:
            if isinstance(child, (dict, list)):
                if depth + 1 > MAX_DEPTH:
                    return True
                stack.append((child, depth + 1))
    return False


def parse(body: bytes) -> Any:
    """The body as JSON, or Refused(400, -32700)."""
    try:
        value = json.loads(body.decode("utf-8"), parse_float=_finite, parse_constant=_no_constant)
    except (ValueError, RecursionError):
        # ValueError: bad UTF-8, bad syntax, a BOM, an integer beyond Python's digit limit.
        raise Refused(400, PARSE_ERROR, "Parse error") from None
    if _too_deep(value):
        raise Refused(400, PARSE_ERROR, f"Parse error: nested deeper than {MAX_DEPTH} levels")
    return value


def _given_id(value: Any) -> int | str | None:
    request_id = value.get("id") if isinstance(value, dict) else None
    if isinstance(request_id, str) or (isinstance(request_id, int) and not isinstance(request_id, bool)):
        return request_id
    return None


def check(value: Any) -> JSONRPCMessage:
    """One JSON-RPC message the SDK can serve, or Refused(400, -32600) / Refused(200, -32601)."""
    if isinstance(value, dict) and "id" in value and _given_id(value) is None:
        # An id of another type (object, bool, null: MCP forbids null) would pass as a
        # notification, which gets no answer at all.
        raise Refused(400, INVALID_REQUEST, "Invalid Request")
    try:
        message = JSONRPCMessage.model_validate(value)
    except ValidationError:
        # The id is echoed when it could be read, so a client can match the answer.
        raise Refused(400, INVALID_REQUEST, "Invalid Request", _given_id(value)) from None
    root = message.root
    if isinstance(root, JSONRPCRequest) and root.method not in CLIENT_METHODS:
        # A well-formed request for a method nobody defines (the SDK would say -32602).
        raise Refused(200, METHOD_NOT_FOUND, "Method not found", root.id)
    return message
