// Server-side client for the FastAPI backend. The browser never calls the
// backend: route handlers use this with the user's token from the cookie, so
// BACKEND_URL can be a cluster-internal address and is read at request time
// (one image for every environment; nothing is baked in at build time).
import { ConfigError, type Env } from "./auth";

export const DEFAULT_BACKEND_URL = "http://localhost:8000";
export const DEFAULT_TIMEOUT_MS = 15_000;
// Chat may run an LLM agent with several tool calls; give it more time.
export const CHAT_TIMEOUT_MS = 90_000;

export function backendBaseUrl(env: Env = process.env): string {
  const raw = env.BACKEND_URL?.trim() || DEFAULT_BACKEND_URL;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(`BACKEND_URL is not a valid URL: ${raw}`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new ConfigError(`BACKEND_URL must be http(s): ${raw}`);
  }
  // Keep any path prefix (e.g. behind a gateway at /todo) but drop trailing slashes.
  return url.toString().replace(/\/+$/, "");
}

/** `${base}/api/${userId}/${segments...}` with every variable part escaped. */
export function backendUrl(base: string, userId: string, ...segments: Array<string | number>): string {
  const parts = [userId, ...segments].map((p) => encodeURIComponent(String(p)));
  return `${base.replace(/\/+$/, "")}/api/${parts.join("/")}`;
}

export type BackendResult<T> =
  | { ok: true; status: number; data: T }
  | { ok: false; status: number; error: string };

/** Turn a FastAPI `detail` (string or validation list) into one short line. */
export function detailMessage(body: unknown): string | null {
  if (!body || typeof body !== "object") return null;
  const detail = (body as { detail?: unknown }).detail;
  if (typeof detail === "string" && detail.trim()) return detail.trim().slice(0, 200);
  if (Array.isArray(detail)) {
    const msgs = detail
      .map((d) => (d && typeof d === "object" && typeof (d as { msg?: unknown }).msg === "string" ? (d as { msg: string }).msg : null))
      .filter((m): m is string => !!m);
    if (msgs.length) return msgs.join("; ").slice(0, 200);
  }
  return null;
}

/**
 * Map a backend error status to what our own API answers. 4xx details come
 * from our own backend and help the user, so they pass through; 5xx bodies
 * may hold internals, so they are replaced by a generic message.
 */
export function mapBackendError(status: number, body: unknown): { status: number; error: string } {
  const detail = detailMessage(body);
  if (status === 401) return { status: 401, error: "Your session is not valid any more. Please sign in again." };
  if (status === 403) return { status: 403, error: detail ?? "Not allowed." };
  if (status === 404) return { status: 404, error: detail ?? "Not found." };
  if (status === 429) return { status: 429, error: "Too many requests. Please try again shortly." };
  if (status === 503) return { status: 503, error: "The backend is temporarily unavailable. Please try again." };
  if (status >= 400 && status < 500) return { status, error: detail ?? "The request was rejected." };
  return { status: 502, error: "The backend failed to handle the request." };
}

export interface CallOptions {
  method: "GET" | "POST" | "PATCH" | "PUT" | "DELETE";
  url: string;
  token: string;
  body?: unknown;
  timeoutMs?: number;
  fetchImpl?: typeof fetch; // injectable for unit tests
}

export async function callBackend<T>(opts: CallOptions): Promise<BackendResult<T>> {
  const { method, url, token, body, timeoutMs = DEFAULT_TIMEOUT_MS, fetchImpl = fetch } = opts;
  let res: Response;
  try {
    res = await fetchImpl(url, {
      method,
      headers: {
        Authorization: `Bearer ${token}`,
        Accept: "application/json",
        ...(body === undefined ? {} : { "Content-Type": "application/json" }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store", // per-user data: never let Next's fetch cache keep it
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (err) {
    const name = (err as { name?: string })?.name;
    if (name === "TimeoutError" || name === "AbortError") {
      return { ok: false, status: 504, error: "The backend did not answer in time." };
    }
    // Connection refused, DNS failure, reset: the backend is not reachable.
    console.error(`backend unreachable: ${method} ${url}: ${(err as Error)?.message ?? err}`);
    return { ok: false, status: 502, error: "The backend is unreachable." };
  }

  const text = await res.text().catch(() => "");
  let parsed: unknown = undefined;
  if (text) {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
  }

  if (!res.ok) {
    if (res.status >= 500) console.error(`backend error ${res.status}: ${method} ${url}`);
    return { ok: false, ...mapBackendError(res.status, parsed) };
  }
  if (parsed === undefined && res.status !== 204) {
    console.error(`backend sent non-JSON ${res.status}: ${method} ${url}`);
    return { ok: false, status: 502, error: "The backend sent an invalid response." };
  }
  return { ok: true, status: res.status, data: parsed as T };
}
