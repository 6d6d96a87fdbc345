import { createHash } from "node:crypto";
import { SignJWT, decodeProtectedHeader, decodeJwt } from "jose";
import { describe, expect, it } from "vitest";
import {
  ConfigError,
  TOKEN_TTL_SECONDS,
  authSecret,
  isHttpsRequest,
  issueToken,
  normalizeEmail,
  openSignIn,
  passwordMatches,
  sessionCookieOptions,
  signInPassword,
  userIdForEmail,
  verifyToken,
} from "@/lib/auth";

const secret = new TextEncoder().encode("unit-test-secret-unit-test-secret!!");
const NOW = 1_800_000_000;

describe("userIdForEmail", () => {
  it("is u_ + first 16 hex chars of sha256(lower-cased email)", () => {
    const expected = "u_" + createHash("sha256").update("alice@example.com").digest("hex").slice(0, 16);
    expect(userIdForEmail("alice@example.com")).toBe(expected);
    expect(userIdForEmail("alice@example.com")).toMatch(/^u_[0-9a-f]{16}$/);
  });

  it("is stable across case and surrounding spaces, and differs per email", () => {
    expect(userIdForEmail("  Alice@Example.COM ")).toBe(userIdForEmail("alice@example.com"));
    expect(userIdForEmail("bob@example.com")).not.toBe(userIdForEmail("alice@example.com"));
  });
});

describe("normalizeEmail", () => {
  it("trims and lower-cases valid addresses", () => {
    expect(normalizeEmail("  Bob@Example.org ")).toBe("bob@example.org");
  });
  it.each([undefined, null, 42, "", "no-at-sign", "a@b", "a b@c.d", `${"x".repeat(250)}@e.com`])(
    "rejects %j",
    (v) => expect(normalizeEmail(v)).toBeNull(),
  );
});

describe("passwordMatches", () => {
  it("accepts the same password and rejects others, whatever their length", () => {
    expect(passwordMatches("s3cret", "s3cret")).toBe(true);
    expect(passwordMatches("s3cre", "s3cret")).toBe(false);
    expect(passwordMatches("", "s3cret")).toBe(false);
    expect(passwordMatches("s3cret-and-more", "s3cret")).toBe(false);
  });
});

describe("authSecret", () => {
  it("reads BETTER_AUTH_SECRET at call time", () => {
    expect(new TextDecoder().decode(authSecret({ BETTER_AUTH_SECRET: "abc" }))).toBe("abc");
  });
  it("throws a ConfigError when it is missing or empty", () => {
    expect(() => authSecret({})).toThrow(ConfigError);
    expect(() => authSecret({ BETTER_AUTH_SECRET: "" })).toThrow(ConfigError);
  });
});

describe("issueToken / verifyToken", () => {
  it("issues an HS256 JWT with sub, email, iat and exp (12h)", async () => {
    const { token, userId, expiresAt } = await issueToken("Carol@Example.com", secret, NOW);
    expect(decodeProtectedHeader(token)).toEqual({ alg: "HS256", typ: "JWT" });
    const claims = decodeJwt(token);
    expect(claims).toEqual({ sub: userId, email: "Carol@Example.com", iat: NOW, exp: NOW + TOKEN_TTL_SECONDS });
    expect(userId).toBe(userIdForEmail("carol@example.com"));
    expect(expiresAt).toBe(NOW + 12 * 3600);
  });

  it("round-trips through verifyToken", async () => {
    const { token, userId } = await issueToken("dave@example.com", secret, NOW);
    const session = await verifyToken(token, secret, NOW + 60);
    expect(session).toEqual({ userId, email: "dave@example.com", token, expiresAt: NOW + TOKEN_TTL_SECONDS });
  });

  it("rejects expired tokens", async () => {
    const { token } = await issueToken("dave@example.com", secret, NOW);
    expect(await verifyToken(token, secret, NOW + TOKEN_TTL_SECONDS + 1)).toBeNull();
  });

  it("rejects tokens signed with another secret or tampered with", async () => {
    const { token } = await issueToken("dave@example.com", secret, NOW);
    const other = new TextEncoder().encode("another-secret-another-secret-xx");
    expect(await verifyToken(token, other, NOW)).toBeNull();
    const [h, p, s] = token.split(".");
    const forged = Buffer.from(JSON.stringify({ ...decodeJwt(token), sub: "u_0000000000000000" })).toString("base64url");
    expect(await verifyToken(`${h}.${forged}.${s}`, secret, NOW)).toBeNull();
    expect(await verifyToken(`${h}.${p}.`, secret, NOW)).toBeNull();
  });

  it("rejects missing, garbage, alg=none and sub-less tokens", async () => {
    expect(await verifyToken(undefined, secret)).toBeNull();
    expect(await verifyToken("", secret)).toBeNull();
    expect(await verifyToken("not.a.jwt", secret)).toBeNull();
    const none =
      Buffer.from(JSON.stringify({ alg: "none", typ: "JWT" })).toString("base64url") +
      "." +
      Buffer.from(JSON.stringify({ sub: "u_x", exp: NOW + 100 })).toString("base64url") +
      ".";
    expect(await verifyToken(none, secret, NOW)).toBeNull();
    const noSub = await new SignJWT({ email: "x@y.z" })
      .setProtectedHeader({ alg: "HS256" })
      .setIssuedAt(NOW)
      .setExpirationTime(NOW + 100)
      .sign(secret);
    expect(await verifyToken(noSub, secret, NOW)).toBeNull();
    const noExp = await new SignJWT({}).setProtectedHeader({ alg: "HS256" }).setSubject("u_x").sign(secret);
    expect(await verifyToken(noExp, secret, NOW)).toBeNull();
  });
});

describe("cookies", () => {
  it("are httpOnly, SameSite=Lax, path /, 12h, Secure only when asked", () => {
    expect(sessionCookieOptions(false)).toEqual({
      httpOnly: true,
      sameSite: "lax",
      secure: false,
      path: "/",
      maxAge: TOKEN_TTL_SECONDS,
    });
    expect(sessionCookieOptions(true, 0)).toMatchObject({ secure: true, maxAge: 0 });
  });

  it("detects https directly or through a TLS-terminating proxy", () => {
    expect(isHttpsRequest("https://todo.example/api", new Headers())).toBe(true);
    expect(isHttpsRequest("http://todo.example/api", new Headers())).toBe(false);
    expect(isHttpsRequest("http://pod:3000/api", new Headers({ "x-forwarded-proto": "https" }))).toBe(true);
    expect(isHttpsRequest("http://pod:3000/api", new Headers({ "x-forwarded-proto": "HTTPS, http" }))).toBe(true);
    expect(isHttpsRequest("https://pod:3000/api", new Headers({ "x-forwarded-proto": "http" }))).toBe(false);
  });
});

describe("signInPassword", () => {
  it("returns DEMO_PASSWORD when it is set, in any mode", () => {
    expect(signInPassword({ DEMO_PASSWORD: "pw", NODE_ENV: "production" })).toBe("pw");
    expect(signInPassword({ DEMO_PASSWORD: "pw", NODE_ENV: "development" })).toBe("pw");
  });

  it("allows open sign-in only outside production, and says so", () => {
    expect(signInPassword({ NODE_ENV: "development" })).toBeNull();
    expect(openSignIn({ NODE_ENV: "development" })).toBe(true);
    expect(openSignIn({ NODE_ENV: "development", DEMO_PASSWORD: "pw" })).toBe(false);
    expect(openSignIn({ NODE_ENV: "production" })).toBe(false);
  });

  it("refuses a production server without one, naming the variable", () => {
    for (const env of [{ NODE_ENV: "production" }, { NODE_ENV: "production", DEMO_PASSWORD: "" }]) {
      expect(() => signInPassword(env)).toThrow(ConfigError);
      expect(() => signInPassword(env)).toThrow(/DEMO_PASSWORD is not set/);
    }
  });
});
