// Minimal stand-in for Better Auth sign-in: checks the optional shared demo
// password, then issues the HS256 JWT the backend verifies and keeps it in an
// httpOnly cookie (page JavaScript never sees it).
import { NextResponse } from "next/server";
import {
  ConfigError,
  SESSION_COOKIE,
  authSecret,
  isHttpsRequest,
  issueToken,
  normalizeEmail,
  passwordMatches,
  sessionCookieOptions,
  signInPassword,
} from "@/lib/auth";
import { jsonError } from "@/lib/session";

export const dynamic = "force-dynamic";

export async function POST(req: Request): Promise<Response> {
  // Requiring JSON means a cross-site HTML form cannot post here (login CSRF):
  // a browser would need a CORS preflight, which we never grant.
  if (!req.headers.get("content-type")?.toLowerCase().startsWith("application/json")) {
    return jsonError(415, "Send the credentials as JSON.");
  }
  let body: { email?: unknown; password?: unknown };
  try {
    body = (await req.json()) as typeof body;
  } catch {
    return jsonError(400, "Invalid JSON.");
  }
  const email = normalizeEmail(body?.email);
  if (!email) return jsonError(400, "Enter a valid email address.");

  try {
    const secret = authSecret();
    const expected = signInPassword();
    if (expected !== null) {
      const given = typeof body.password === "string" ? body.password : "";
      if (!passwordMatches(given, expected)) return jsonError(401, "Wrong email or password.");
    }
    const { token, userId, expiresAt } = await issueToken(email, secret);
    const res = NextResponse.json({ userId, email, expiresAt }, { headers: { "Cache-Control": "no-store" } });
    res.cookies.set(SESSION_COOKIE, token, sessionCookieOptions(isHttpsRequest(req.url, req.headers)));
    return res;
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`configuration error: ${err.message}`);
      return jsonError(500, "The server is misconfigured. See its logs.");
    }
    console.error("sign-in failed", err);
    return jsonError(500, "Internal error.");
  }
}
