// Glue between Next's request APIs and the pure auth/backend modules.
import { cookies } from "next/headers";
import { NextResponse } from "next/server";
import { ConfigError, SESSION_COOKIE, authSecret, verifyToken, type Session } from "./auth";
import type { BackendResult } from "./backend";

/** The signed-in user from the cookie, or null. Throws ConfigError if the secret is unset. */
export async function currentSession(): Promise<Session | null> {
  const token = (await cookies()).get(SESSION_COOKIE)?.value;
  return verifyToken(token, authSecret());
}

export function jsonError(status: number, error: string): Response {
  return Response.json({ error }, { status, headers: { "Cache-Control": "no-store" } });
}

export function jsonOk(data: unknown, status = 200): Response {
  return Response.json(data, { status, headers: { "Cache-Control": "no-store" } });
}

export function fromBackend<T>(result: BackendResult<T>, check?: (v: unknown) => boolean): Response {
  if (!result.ok && result.status === 401) {
    // The backend rejected a token we accepted (e.g. the two sides have
    // different secrets). Drop the cookie, or the UI would bounce between
    // the app and the sign-in page, each thinking the user is signed in.
    const res = NextResponse.json({ error: result.error }, { status: 401, headers: { "Cache-Control": "no-store" } });
    res.cookies.delete(SESSION_COOKIE);
    return res;
  }
  if (!result.ok) return jsonError(result.status, result.error);
  if (check && !check(result.data)) {
    console.error("backend response did not match the contract");
    return jsonError(502, "The backend sent an unexpected response.");
  }
  return jsonOk(result.data ?? null, result.status === 204 ? 200 : result.status);
}

/**
 * Run an API handler for a signed-in user: 401 without a valid session, and
 * a generic 500 (details only in the server log) on anything unexpected, so
 * no stack trace ever reaches the browser.
 */
export async function withSession(handler: (session: Session) => Promise<Response>): Promise<Response> {
  try {
    const session = await currentSession();
    if (!session) return jsonError(401, "Not signed in.");
    return await handler(session);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`configuration error: ${err.message}`);
      return jsonError(500, "The server is misconfigured. See its logs.");
    }
    console.error("unexpected error in API route", err);
    return jsonError(500, "Internal error.");
  }
}
