import { describe, expect, it } from "vitest";
import {
  EMPTY_CONVERSATION,
  MAX_STORED_MESSAGES,
  clearConversation,
  loadConversation,
  saveConversation,
  storageKey,
} from "@/lib/conversation-store";

function memoryStore() {
  const m = new Map<string, string>();
  return {
    m,
    getItem: (k: string) => m.get(k) ?? null,
    setItem: (k: string, v: string) => void m.set(k, v),
    removeItem: (k: string) => void m.delete(k),
  };
}

describe("conversation store", () => {
  it("round-trips per user", () => {
    const s = memoryStore();
    const conv = { conversationId: 7, messages: [{ role: "user" as const, content: "add buy milk" }] };
    saveConversation(s, "u_a", conv);
    expect(loadConversation(s, "u_a")).toEqual(conv);
    expect(loadConversation(s, "u_b")).toEqual(EMPTY_CONVERSATION);
    expect([...s.m.keys()]).toEqual([storageKey("u_a")]);
    clearConversation(s, "u_a");
    expect(loadConversation(s, "u_a")).toEqual(EMPTY_CONVERSATION);
  });

  it("reads corrupt or foreign data as empty and drops malformed messages", () => {
    const s = memoryStore();
    s.setItem(storageKey("u"), "{not json");
    expect(loadConversation(s, "u")).toEqual(EMPTY_CONVERSATION);
    s.setItem(
      storageKey("u"),
      JSON.stringify({ conversationId: "3", messages: [{ role: "user", content: "ok" }, { role: "system", content: "x" }, 5] }),
    );
    expect(loadConversation(s, "u")).toEqual({ conversationId: null, messages: [{ role: "user", content: "ok" }] });
  });

  it("keeps only the newest messages", () => {
    const s = memoryStore();
    const messages = Array.from({ length: MAX_STORED_MESSAGES + 10 }, (_, i) => ({ role: "user" as const, content: `m${i}` }));
    saveConversation(s, "u", { conversationId: 1, messages });
    const loaded = loadConversation(s, "u");
    expect(loaded.messages).toHaveLength(MAX_STORED_MESSAGES);
    expect(loaded.messages[0].content).toBe("m10");
  });

  it("survives a storage that throws (quota, private mode)", () => {
    const broken = {
      getItem: () => {
        throw new Error("denied");
      },
      setItem: () => {
        throw new Error("quota");
      },
      removeItem: () => {
        throw new Error("denied");
      },
    };
    expect(loadConversation(broken, "u")).toEqual(EMPTY_CONVERSATION);
    expect(() => saveConversation(broken, "u", EMPTY_CONVERSATION)).not.toThrow();
    expect(() => clearConversation(broken, "u")).not.toThrow();
  });
});
