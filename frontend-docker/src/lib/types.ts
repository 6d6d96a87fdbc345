// Shapes of the backend API (see the project contract). Shared by the route
// handlers (which check them) and the client UI (which renders them).

export interface Task {
  id: number;
  title: string;
  description: string | null;
  completed: boolean;
  created_at: string;
  updated_at: string;
}

export interface ChatReply {
  conversation_id: number;
  response: string;
  tool_calls: unknown[];
}

export interface ChatRequest {
  conversation_id?: number;
  message: string;
}

export const MAX_MESSAGE_LENGTH = 4000;

export function isTask(v: unknown): v is Task {
  if (!v || typeof v !== "object") return false;
  const t = v as Record<string, unknown>;
  return typeof t.id === "number" && typeof t.title === "string" && typeof t.completed === "boolean";
}

export function isTaskList(v: unknown): v is Task[] {
  return Array.isArray(v) && v.every(isTask);
}

export function isChatReply(v: unknown): v is ChatReply {
  if (!v || typeof v !== "object") return false;
  const r = v as Record<string, unknown>;
  return typeof r.conversation_id === "number" && typeof r.response === "string";
}

/** Validate the browser's chat request before spending a backend call on it. */
export function parseChatRequest(v: unknown): { ok: true; value: ChatRequest } | { ok: false; error: string } {
  if (!v || typeof v !== "object") return { ok: false, error: "Expected a JSON object." };
  const { message, conversation_id } = v as Record<string, unknown>;
  if (typeof message !== "string" || !message.trim()) return { ok: false, error: "Message must not be empty." };
  if (message.length > MAX_MESSAGE_LENGTH) {
    return { ok: false, error: `Message is longer than ${MAX_MESSAGE_LENGTH} characters.` };
  }
  if (conversation_id === undefined || conversation_id === null) return { ok: true, value: { message: message.trim() } };
  if (typeof conversation_id !== "number" || !Number.isSafeInteger(conversation_id) || conversation_id <= 0) {
    return { ok: false, error: "conversation_id must be a positive integer." };
  }
  return { ok: true, value: { message: message.trim(), conversation_id } };
}

/** Short names of the tools the agent called, for display; tolerant of shape. */
export function toolNames(toolCalls: unknown): string[] {
  if (!Array.isArray(toolCalls)) return [];
  return toolCalls
    .map((c) => {
      if (typeof c === "string") return c;
      if (c && typeof c === "object") {
        const o = c as Record<string, unknown>;
        for (const k of ["tool", "name", "tool_name"]) if (typeof o[k] === "string") return o[k] as string;
      }
      return null;
    })
    .filter((n): n is string => !!n);
}
