// Browser-side persistence of the chat view. The backend is stateless and
// keeps the real history; we only keep the conversation id (so the next
// message continues the same conversation) and what was displayed (so a
// reload shows it). Keyed by user so two people on one browser don't mix.

export type MessageRole = "user" | "assistant" | "error";

export interface ChatMessage {
  role: MessageRole;
  content: string;
  tools?: string[];
}

export interface StoredConversation {
  conversationId: number | null;
  messages: ChatMessage[];
}

// Bound what we keep so localStorage (about 5 MB per origin) never fills up.
export const MAX_STORED_MESSAGES = 200;

export const EMPTY_CONVERSATION: StoredConversation = { conversationId: null, messages: [] };

export function storageKey(userId: string): string {
  return `todo-chat:v1:${userId}`;
}

type KeyValueStore = Pick<Storage, "getItem" | "setItem" | "removeItem">;

function isMessage(v: unknown): v is ChatMessage {
  if (!v || typeof v !== "object") return false;
  const m = v as Record<string, unknown>;
  return (
    (m.role === "user" || m.role === "assistant" || m.role === "error") &&
    typeof m.content === "string" &&
    (m.tools === undefined || (Array.isArray(m.tools) && m.tools.every((t) => typeof t === "string")))
  );
}

/** Load a stored conversation; anything corrupt or from another version reads as empty. */
export function loadConversation(store: KeyValueStore, userId: string): StoredConversation {
  try {
    const raw = store.getItem(storageKey(userId));
    if (!raw) return EMPTY_CONVERSATION;
    const v = JSON.parse(raw) as Record<string, unknown>;
    const id = v?.conversationId;
    const conversationId = typeof id === "number" && Number.isSafeInteger(id) && id > 0 ? id : null;
    const messages = Array.isArray(v?.messages) ? v.messages.filter(isMessage) : [];
    return { conversationId, messages: messages.slice(-MAX_STORED_MESSAGES) };
  } catch {
    return EMPTY_CONVERSATION;
  }
}

export function saveConversation(store: KeyValueStore, userId: string, conv: StoredConversation): void {
  try {
    const trimmed: StoredConversation = {
      conversationId: conv.conversationId,
      messages: conv.messages.slice(-MAX_STORED_MESSAGES),
    };
    store.setItem(storageKey(userId), JSON.stringify(trimmed));
  } catch {
    // Quota exceeded or storage disabled (private mode): the chat still
    // works, it just won't survive a reload.
  }
}

export function clearConversation(store: KeyValueStore, userId: string): void {
  try {
    store.removeItem(storageKey(userId));
  } catch {
    /* see saveConversation */
  }
}
