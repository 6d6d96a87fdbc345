import { backendBaseUrl, backendUrl, callBackend } from "@/lib/backend";
import { fromBackend, withSession } from "@/lib/session";
import { isTaskList, type Task } from "@/lib/types";

export const dynamic = "force-dynamic";

export function GET(): Promise<Response> {
  return withSession(async (s) => {
    const url = backendUrl(backendBaseUrl(), s.userId, "tasks");
    return fromBackend(await callBackend<Task[]>({ method: "GET", url, token: s.token }), isTaskList);
  });
}
