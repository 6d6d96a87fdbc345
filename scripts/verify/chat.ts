// verify's chat round trip, the pure parts: what the chat and tasks answers must
// hold for the round trip to count. The token is scripts/lib/app/auth.ts's; the asking
// is in run.ts.
import { randomBytes } from 'node:crypto';
import type { Finding } from '../lib/kit/result.ts';

/** A user of verify's own, so its task never lands in a real user's list. */
export const verifyUser = (nonce = randomBytes(4).toString('hex')) => `todo-ops-verify-${nonce}`;

/** What the round trip asks the agent: an "add" its built-in parser and an LLM both understand. */
export const chatMessage = (title: string) => `add ${title}`;

interface ToolCall {
  tool?: string;
  result?: unknown;
}

/** The task id the chat answer reports as created by add_task, or why there is none. */
export function createdTaskId(
  status: number | undefined,
  body: string,
  title: string,
): { id: number } | { problem: string } {
  if (status !== 200)
    return { problem: `POST /chat answered ${status ?? 'nothing'}${body ? `: ${oneLine(body)}` : ''}` };
  let doc: { conversation_id?: unknown; tool_calls?: ToolCall[] };
  try {
    doc = JSON.parse(body) as typeof doc;
  } catch {
    return { problem: `POST /chat answered 200 with no JSON: ${oneLine(body)}` };
  }
  const add = (doc.tool_calls ?? []).find((c) => c.tool === 'add_task');
  if (!add)
    return {
      problem: `the agent called no add_task (tool calls: ${(doc.tool_calls ?? []).map((c) => c.tool).join(', ') || 'none'})`,
    };
  const r = add.result as { task_id?: unknown; title?: unknown } | undefined;
  if (typeof r?.task_id !== 'number')
    return { problem: `add_task returned no task id: ${oneLine(JSON.stringify(add.result))}` };
  if (r.title !== undefined && r.title !== title)
    return { problem: `add_task created "${String(r.title)}", not "${title}"` };
  return { id: r.task_id };
}

/** Whether the tasks API lists the task the chat created, with its title. */
export function taskListed(status: number | undefined, body: string, id: number, title: string): string | undefined {
  if (status !== 200) return `GET /tasks answered ${status ?? 'nothing'}${body ? `: ${oneLine(body)}` : ''}`;
  let tasks: { id?: unknown; title?: unknown }[];
  try {
    tasks = JSON.parse(body) as typeof tasks;
  } catch {
    return `GET /tasks answered 200 with no JSON: ${oneLine(body)}`;
  }
  const t = Array.isArray(tasks) ? tasks.find((x) => x.id === id) : undefined;
  if (!t)
    return `task ${id} created through the chat is not in the tasks API's list (${Array.isArray(tasks) ? tasks.length : 0} tasks)`;
  if (t.title !== title) return `task ${id} is titled "${String(t.title)}", not "${title}"`;
  return undefined;
}

export function chatFinding(o: {
  problem?: string;
  id?: number;
  title: string;
  user: string;
  ms: number;
  service: string;
  namespace: string;
}): Finding {
  const object = { kind: 'Service', name: o.service, namespace: o.namespace };
  const evidence = { user: o.user, title: o.title, ms: o.ms, ...(o.id !== undefined ? { taskId: o.id } : {}) };
  if (!o.problem)
    return {
      name: 'chat round trip',
      level: 'ok',
      object,
      detail: `POST /api/{user}/chat created task ${o.id} "${o.title}", read back through GET /api/{user}/tasks in ${o.ms} ms`,
      evidence,
    };
  return {
    name: 'chat round trip',
    level: 'fail',
    object,
    detail: o.problem,
    evidence,
    hint: `npx zx scripts/debug.ts -n ${o.namespace} ${o.service}`,
  };
}

const oneLine = (s: string) => s.replace(/\s+/g, ' ').trim().slice(0, 200);
