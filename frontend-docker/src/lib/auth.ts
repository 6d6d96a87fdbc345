// Stand-in for Better Auth's JWT plugin: it issues the same kind of token the
// backend verifies (HS256, signed with BETTER_AUTH_SECRET, `sub` = user id,
// `exp`), so a real Better Auth app can replace this module without any
// change on the backend side. Server-only: it uses node:crypto and the secret.
import { createHash, timingSafeEqual } from "node:crypto";
import { SignJWT, jwtVerify, errors as joseErrors } from "jose";

export const SESSION_COOKIE = "todo_token";
export const TOKEN_TTL_SECONDS = 12 * 60 * 60;

export interface Session {
  userId: string;
  email: string;
  token: string;
  expiresAt: number; // seconds since epoch
}

/** Thrown when the server is missing configuration it cannot run without. */
export class ConfigError extends Error {}

/** Environment lookups take this so tests can pass a plain object. */
export type Env = Record<string, string | undefined>;

// Read at call time, never at module load, so one image serves every
// environment and a missing secret fails requests loudly instead of silently.
export function authSecret(env: Env = process.env): Uint8Array {
  const secret = env.BETTER_AUTH_SECRET;
  if (!secret) throw new ConfigError("BETTER_AUTH_SECRET is not set");
  return new TextEncoder().encode(secret);
}

export const OPEN_SIGN_IN_REFUSED =
  "DEMO_PASSWORD is not set: a deployed frontend would sign anyone in under any email, so it refuses to run. " +
  "Put a sign-in password in DEMO_PASSWORD (the chart reads it from the app Secret); only `npm run dev` may run without one.";

/**
 * The password sign-in requires, or null for open sign-in. Open sign-in (any
 * email, no password) is for `npm run dev` only: anywhere NODE_ENV is
 * production it would let everyone act as every user.
 */
export function signInPassword(env: Env = process.env): string | null {
  const password = env.DEMO_PASSWORD;
  if (password) return password;
  if (env.NODE_ENV === "production") throw new ConfigError(OPEN_SIGN_IN_REFUSED);
  return null;
}

/** True when this server signs anyone in (development without DEMO_PASSWORD): the page says so. */
export function openSignIn(env: Env = process.env): boolean {
  return !env.DEMO_PASSWORD && env.NODE_ENV !== "production";
}

// Pragmatic check only: the address is an identity label here, not a mailbox
// we send to, so we just reject obvious garbage and absurd lengths.
const EMAIL_RE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

export function normalizeEmail(raw: unknown): string | null {
  if (typeof raw !== "string") return null;
  const email = raw.trim().toLowerCase();
  if (email.length > 254 || !EMAIL_RE.test(email)) return null;
  return email;
}

/**
 * Stable user id for an email: same email (any case) -> same id, so tasks
 * and conversations survive sign-out/sign-in. Only [a-z0-9_] so it is safe
 * in the backend's `/api/{user_id}/...` path without escaping.
 */
export function userIdForEmail(email: string): string {
  const digest = createHash("sha256").update(email.trim().toLowerCase()).digest("hex");
  return `u_${digest.slice(0, 16)}`;
}

/**
 * Compare a submitted password with the expected one in constant time.
 * Both sides are hashed first so the comparison does not leak the length.
 */
export function passwordMatches(submitted: string, expected: string): boolean {
  const a = createHash("sha256").update(submitted, "utf8").digest();
  const b = createHash("sha256").update(expected, "utf8").digest();
  return timingSafeEqual(a, b);
}

export async function issueToken(
  email: string,
  secret: Uint8Array,
  now: number = Math.floor(Date.now() / 1000),
): Promise<{ token: string; userId: string; expiresAt: number }> {
  const userId = userIdForEmail(email);
  const expiresAt = now + TOKEN_TTL_SECONDS;
  const token = await new SignJWT({ email })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setSubject(userId)
    .setIssuedAt(now)
    .setExpirationTime(expiresAt)
    .sign(secret);
  return { token, userId, expiresAt };
}

/**
 * Verify a token and return the session it carries, or null if it is
 * missing, expired, tampered with or signed with another secret. Callers
 * treat all of those the same way: "not signed in".
 */
export async function verifyToken(
  token: string | undefined | null,
  secret: Uint8Array,
  now?: number,
): Promise<Session | null> {
  if (!token) return null;
  try {
    const { payload } = await jwtVerify(token, secret, {
      algorithms: ["HS256"],
      requiredClaims: ["sub", "exp"],
      ...(now === undefined ? {} : { currentDate: new Date(now * 1000) }),
    });
    if (typeof payload.sub !== "string" || typeof payload.exp !== "number") return null;
    return {
      userId: payload.sub,
      email: typeof payload.email === "string" ? payload.email : "",
      token,
      expiresAt: payload.exp,
    };
  } catch (err) {
    if (err instanceof joseErrors.JOSEError) return null;
    throw err;
  }
}

/** Whether the original client request was https (directly or via a TLS-terminating proxy). */
export function isHttpsRequest(url: string, headers: Headers): boolean {
  const forwarded = headers.get("x-forwarded-proto")?.split(",")[0]?.trim().toLowerCase();
  if (forwarded) return forwarded === "https";
  return new URL(url).protocol === "https:";
}

export function sessionCookieOptions(secure: boolean, maxAge: number = TOKEN_TTL_SECONDS) {
  return {
    httpOnly: true, // the token never reaches page JavaScript
    sameSite: "lax" as const, // blocks cross-site POSTs carrying the cookie
    secure,
    path: "/",
    maxAge,
  };
}
