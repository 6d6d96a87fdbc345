import { afterEach, describe, expect, it, vi } from "vitest";
import { fromBackend, jsonError } from "@/lib/session";

describe("fromBackend", () => {
  afterEach(() => vi.restoreAllMocks());

  it("passes data through with no-store", async () => {
    const res = fromBackend({ ok: true, status: 200, data: [{ id: 1 }] });
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(await res.json()).toEqual([{ id: 1 }]);
  });

  it("turns an error result into a JSON error with its status", async () => {
    const res = fromBackend({ ok: false, status: 502, error: "The backend is unreachable." });
    expect(res.status).toBe(502);
    expect(await res.json()).toEqual({ error: "The backend is unreachable." });
    expect(res.headers.get("set-cookie")).toBeNull();
  });

  it("clears the session cookie when the backend rejects the token", async () => {
    const res = fromBackend({ ok: false, status: 401, error: "sign in again" });
    expect(res.status).toBe(401);
    expect(res.headers.get("set-cookie")).toMatch(/^todo_token=;.*(Max-Age=0|Expires=Thu, 01 Jan 1970)/i);
  });

  it("answers 502 when the backend's data does not match the contract", async () => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    const res = fromBackend({ ok: true, status: 200, data: { nope: true } }, Array.isArray);
    expect(res.status).toBe(502);
    expect(await res.json()).toEqual({ error: "The backend sent an unexpected response." });
  });

  it("maps 204 to 200 with null", async () => {
    const res = fromBackend({ ok: true, status: 204, data: undefined });
    expect(res.status).toBe(200);
    expect(await res.json()).toBeNull();
  });
});

describe("jsonError", () => {
  it("is a small JSON body, never a stack", async () => {
    const res = jsonError(400, "Invalid JSON.");
    expect(res.status).toBe(400);
    expect(await res.text()).toBe('{"error":"Invalid JSON."}');
  });
});
