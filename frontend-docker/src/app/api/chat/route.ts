import { CHAT_TIMEOUT_MS, backendBaseUrl, backendUrl, callBackend } from "@/lib/backend";
import { fromBackend, jsonError, withSession } from "@/lib/session";
import { isChatReply, parseChatRequest, type ChatReply } from "@/lib/types";

export const dynamic = "force-dynamic";

export function POST(req: Request): Promise<Response> {
  return withSession(async (s) => {
    // Defence in depth on top of the SameSite cookie: a cross-site HTML form
    // cannot send JSON without a CORS preflight, which we never grant.
    if (!req.headers.get("content-type")?.toLowerCase().startsWith("application/json")) {
      return jsonError(415, "Send the message as JSON.");
    }
    let raw: unknown;
    try {
      raw = await req.json();
    } catch {
      return jsonError(400, "Invalid JSON.");
    }
    const parsed = parseChatRequest(raw);
    if (!parsed.ok) return jsonError(400, parsed.error);
    const url = backendUrl(backendBaseUrl(), s.userId, "chat");
    const result = await callBackend<ChatReply>({
      method: "POST",
      url,
      token: s.token,
      body: parsed.value,
      timeoutMs: CHAT_TIMEOUT_MS,
    });
    return fromBackend(result, isChatReply);
  });
}
