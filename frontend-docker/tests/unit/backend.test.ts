import { afterEach, describe, expect, it, vi } from "vitest";
import { ConfigError } from "@/lib/auth";
import {
  CHAT_TIMEOUT_MS,
  DEFAULT_BACKEND_URL,
  backendBaseUrl,
  backendUrl,
  callBackend,
  detailMessage,
  mapBackendError,
} from "@/lib/backend";

const env = (v: Record<string, string>) => v;

describe("backendBaseUrl", () => {
  it("defaults to http://localhost:8000", () => {
    expect(DEFAULT_BACKEND_URL).toBe("http://localhost:8000");
    expect(backendBaseUrl(env({}))).toBe("http://localhost:8000");
    expect(backendBaseUrl(env({ BACKEND_URL: "  " }))).toBe("http://localhost:8000");
  });
  it("reads BACKEND_URL and drops trailing slashes, keeping a path prefix", () => {
    expect(backendBaseUrl(env({ BACKEND_URL: "http://todo-backend:8000/" }))).toBe("http://todo-backend:8000");
    expect(backendBaseUrl(env({ BACKEND_URL: "https://gw.example/todo//" }))).toBe("https://gw.example/todo");
  });
  it("reads process.env at call time, not at import time", () => {
    vi.stubEnv("BACKEND_URL", "http://127.0.0.1:9123");
    try {
      expect(backendBaseUrl()).toBe("http://127.0.0.1:9123");
    } finally {
      vi.unstubAllEnvs();
    }
  });
  it("rejects invalid or non-http URLs with a ConfigError", () => {
    expect(() => backendBaseUrl(env({ BACKEND_URL: "not a url" }))).toThrow(ConfigError);
    expect(() => backendBaseUrl(env({ BACKEND_URL: "ftp://x" }))).toThrow(ConfigError);
  });
});

describe("backendUrl", () => {
  it("builds contract paths", () => {
    const base = "http://b:8000";
    expect(backendUrl(base, "u_abc", "tasks")).toBe("http://b:8000/api/u_abc/tasks");
    expect(backendUrl(base, "u_abc", "chat")).toBe("http://b:8000/api/u_abc/chat");
    expect(backendUrl(base, "u_abc", "tasks", 7, "complete")).toBe("http://b:8000/api/u_abc/tasks/7/complete");
    expect(backendUrl(`${base}/`, "u_abc", "tasks")).toBe("http://b:8000/api/u_abc/tasks");
  });
  it("escapes every variable segment so nothing can change the path", () => {
    expect(backendUrl("http://b", "../admin", "tasks")).toBe("http://b/api/..%2Fadmin/tasks");
    expect(backendUrl("http://b", "u", "tasks", "1?x=y#z")).toBe("http://b/api/u/tasks/1%3Fx%3Dy%23z");
  });
});

describe("detailMessage", () => {
  it("reads FastAPI string and validation-list details", () => {
    expect(detailMessage({ detail: "Task not found" })).toBe("Task not found");
    expect(detailMessage({ detail: [{ msg: "field required" }, { msg: "too long" }] })).toBe("field required; too long");
    expect(detailMessage({ detail: "x".repeat(500) })).toHaveLength(200);
  });
  it("returns null when there is nothing usable", () => {
    for (const v of [null, undefined, "text", {}, { detail: "" }, { detail: [1, 2] }, { detail: 5 }]) {
      expect(detailMessage(v)).toBeNull();
    }
  });
});

describe("mapBackendError", () => {
  it.each([
    [401, { detail: "bad token" }, 401, /sign in again/],
    [403, { detail: "user mismatch" }, 403, /user mismatch/],
    [404, { detail: "Task not found" }, 404, /Task not found/],
    [404, null, 404, /Not found/],
    [422, { detail: [{ msg: "field required" }] }, 422, /field required/],
    [400, null, 400, /rejected/],
    [429, null, 429, /Too many/],
    [503, { detail: "db down at host x" }, 503, /temporarily unavailable/],
  ])("maps %i %j to %i", (status, body, want, msg) => {
    const r = mapBackendError(status, body);
    expect(r.status).toBe(want);
    expect(r.error).toMatch(msg);
  });
  it("hides 5xx details behind 502", () => {
    const r = mapBackendError(500, { detail: "Traceback (most recent call last): secret stuff" });
    expect(r).toEqual({ status: 502, error: "The backend failed to handle the request." });
  });
});

describe("callBackend", () => {
  afterEach(() => vi.restoreAllMocks());

  const quiet = () => vi.spyOn(console, "error").mockImplementation(() => {});

  it("sends the bearer token, JSON body and no-store, and returns the parsed data", async () => {
    const fetchImpl = vi.fn(async () => Response.json({ conversation_id: 3, response: "ok", tool_calls: [] }));
    const r = await callBackend({
      method: "POST",
      url: "http://b/api/u/chat",
      token: "tok",
      body: { message: "hi" },
      timeoutMs: CHAT_TIMEOUT_MS,
      fetchImpl,
    });
    expect(r).toEqual({ ok: true, status: 200, data: { conversation_id: 3, response: "ok", tool_calls: [] } });
    const [url, init] = fetchImpl.mock.calls[0] as unknown as [string, RequestInit];
    expect(url).toBe("http://b/api/u/chat");
    expect(init.method).toBe("POST");
    expect(init.cache).toBe("no-store");
    expect(init.body).toBe('{"message":"hi"}');
    expect(init.headers).toMatchObject({ Authorization: "Bearer tok", "Content-Type": "application/json" });
    expect(init.signal).toBeInstanceOf(AbortSignal);
  });

  it("sends no body or content-type on GET", async () => {
    const fetchImpl = vi.fn(async () => Response.json([]));
    await callBackend({ method: "GET", url: "http://b/api/u/tasks", token: "t", fetchImpl });
    const init = (fetchImpl.mock.calls[0] as unknown as [string, RequestInit])[1];
    expect(init.body).toBeUndefined();
    expect(init.headers).not.toHaveProperty("Content-Type");
  });

  it("maps a refused connection to 502 unreachable", async () => {
    quiet();
    const fetchImpl = vi.fn(async () => {
      throw new TypeError("fetch failed", { cause: Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" }) });
    });
    const r = await callBackend({ method: "GET", url: "http://b/x", token: "t", fetchImpl });
    expect(r).toEqual({ ok: false, status: 502, error: "The backend is unreachable." });
  });

  it("maps a real refused connection (nothing listening) to 502", async () => {
    quiet();
    // Port 1 on loopback: nothing listens there, so this fails fast and locally.
    const r = await callBackend({ method: "GET", url: "http://127.0.0.1:1/api/u/tasks", token: "t" });
    expect(r).toMatchObject({ ok: false, status: 502 });
  });

  it("maps a timeout to 504", async () => {
    const fetchImpl = vi.fn(
      (_url: string | URL | Request, init?: RequestInit) =>
        new Promise<Response>((_, reject) => init?.signal?.addEventListener("abort", () => reject(init.signal!.reason))),
    );
    const r = await callBackend({ method: "GET", url: "http://b/x", token: "t", timeoutMs: 20, fetchImpl });
    expect(r).toEqual({ ok: false, status: 504, error: "The backend did not answer in time." });
  });

  it("maps backend error statuses and hides 500 bodies", async () => {
    quiet();
    const notFound = vi.fn(async () => Response.json({ detail: "Task not found" }, { status: 404 }));
    expect(await callBackend({ method: "PATCH", url: "http://b/x", token: "t", fetchImpl: notFound })).toEqual({
      ok: false,
      status: 404,
      error: "Task not found",
    });
    const boom = vi.fn(async () => new Response("Internal Server Error\nTraceback...", { status: 500 }));
    expect(await callBackend({ method: "GET", url: "http://b/x", token: "t", fetchImpl: boom })).toEqual({
      ok: false,
      status: 502,
      error: "The backend failed to handle the request.",
    });
  });

  it("treats a non-JSON success as an invalid response (502)", async () => {
    quiet();
    const html = vi.fn(async () => new Response("<html>proxy page</html>", { status: 200 }));
    expect(await callBackend({ method: "GET", url: "http://b/x", token: "t", fetchImpl: html })).toEqual({
      ok: false,
      status: 502,
      error: "The backend sent an invalid response.",
    });
  });

  it("accepts 204 No Content", async () => {
    const empty = vi.fn(async () => new Response(null, { status: 204 }));
    expect(await callBackend({ method: "DELETE", url: "http://b/x", token: "t", fetchImpl: empty })).toEqual({
      ok: true,
      status: 204,
      data: undefined,
    });
  });
});
