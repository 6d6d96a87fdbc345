import { backendBaseUrl, backendUrl, callBackend } from "@/lib/backend";
import { fromBackend, jsonError, withSession } from "@/lib/session";
import { isTask, type Task } from "@/lib/types";

export const dynamic = "force-dynamic";

export function PATCH(_req: Request, ctx: { params: Promise<{ id: string }> }): Promise<Response> {
  return withSession(async (s) => {
    const { id } = await ctx.params;
    // Task ids are integers in the contract; reject anything else here
    // rather than forwarding arbitrary path segments to the backend.
    if (!/^[1-9][0-9]{0,15}$/.test(id)) return jsonError(400, "Invalid task id.");
    const url = backendUrl(backendBaseUrl(), s.userId, "tasks", id, "complete");
    return fromBackend(await callBackend<Task>({ method: "PATCH", url, token: s.token }), isTask);
  });
}
