import { NextResponse } from "next/server";
import { SESSION_COOKIE, isHttpsRequest, sessionCookieOptions } from "@/lib/auth";

export const dynamic = "force-dynamic";

export function POST(req: Request): Response {
  const res = NextResponse.json({ ok: true }, { headers: { "Cache-Control": "no-store" } });
  // Same attributes as when set, with maxAge 0, so the browser drops it.
  res.cookies.set(SESSION_COOKIE, "", sessionCookieOptions(isHttpsRequest(req.url, req.headers), 0));
  return res;
}
