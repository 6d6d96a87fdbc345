import { describe, expect, it } from "vitest";
import { MAX_MESSAGE_LENGTH, isChatReply, isTaskList, parseChatRequest, toolNames } from "@/lib/types";

describe("parseChatRequest", () => {
  it("accepts a message with or without a conversation id, trimming it", () => {
    expect(parseChatRequest({ message: " add buy milk " })).toEqual({ ok: true, value: { message: "add buy milk" } });
    expect(parseChatRequest({ message: "hi", conversation_id: 4 })).toEqual({
      ok: true,
      value: { message: "hi", conversation_id: 4 },
    });
    expect(parseChatRequest({ message: "hi", conversation_id: null })).toEqual({ ok: true, value: { message: "hi" } });
  });
  it.each([
    null,
    "text",
    {},
    { message: "   " },
    { message: 5 },
    { message: "x".repeat(MAX_MESSAGE_LENGTH + 1) },
    { message: "hi", conversation_id: "4" },
    { message: "hi", conversation_id: 0 },
    { message: "hi", conversation_id: 1.5 },
  ])("rejects %j", (v) => {
    expect(parseChatRequest(v).ok).toBe(false);
  });
});

describe("response guards", () => {
  it("recognise the contract shapes", () => {
    const task = { id: 1, title: "buy milk", description: null, completed: false, created_at: "x", updated_at: "y" };
    expect(isTaskList([task])).toBe(true);
    expect(isTaskList([])).toBe(true);
    expect(isTaskList([{ ...task, id: "1" }])).toBe(false);
    expect(isTaskList({ tasks: [] })).toBe(false);
    expect(isChatReply({ conversation_id: 1, response: "Added", tool_calls: [] })).toBe(true);
    expect(isChatReply({ response: "Added" })).toBe(false);
  });
});

describe("toolNames", () => {
  it("extracts names from the usual tool-call shapes and ignores the rest", () => {
    expect(toolNames([{ tool: "add_task" }, { name: "list_tasks", arguments: {} }, "delete_task", { x: 1 }, 3])).toEqual([
      "add_task",
      "list_tasks",
      "delete_task",
    ]);
    expect(toolNames(undefined)).toEqual([]);
  });
});
