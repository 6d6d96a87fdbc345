import { backendBaseUrl, backendUrl, callBackend } from "@/lib/backend";
import { fromBackend, jsonError, withSession } from "@/lib/session";
import { isTask, type Task } from "@/lib/types";

export const dynamic = "force-dynamic";

/**
 * Toggle a task, or set it with {"completed": true|false}. The UI sends the
 * state it wants, so a double click cannot flip a task back by accident; the
 * body is forwarded only when given, as a bare PATCH toggles in the contract.
 */
export function PATCH(req: Request, ctx: { params: Promise<{ id: string }> }): Promise<Response> {
  return withSession(async (s) => {
    const { id } = await ctx.params;
    // Task ids are integers in the contract; reject anything else here
    // rather than forwarding arbitrary path segments to the backend.
    if (!/^[1-9][0-9]{0,15}$/.test(id)) return jsonError(400, "Invalid task id.");

    let body: { completed: boolean } | undefined;
    const text = await req.text();
    if (text.trim()) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        return jsonError(400, "Invalid JSON.");
      }
      const completed = (parsed as { completed?: unknown } | null)?.completed;
      if (completed !== undefined && typeof completed !== "boolean") return jsonError(400, "completed must be a boolean.");
      if (typeof completed === "boolean") body = { completed };
    }

    const url = backendUrl(backendBaseUrl(), s.userId, "tasks", id, "complete");
    return fromBackend(await callBackend<Task>({ method: "PATCH", url, token: s.token, body }), isTask);
  });
}
