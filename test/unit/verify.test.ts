// verify's pure parts (scripts/verify/chat.ts): what the chat and tasks answers
// must hold (the token is scripts/lib/app/auth.ts's, tested in app-auth.test.ts). The
// real round trip against the real backend runs in test/real-node/bootstrap.test.ts
// (bootstrap's verify step, including a 401 from a Secret changed under the pods).
import { describe, expect, it } from 'vitest';
import { createdTaskId, taskListed } from '../../scripts/verify/chat.ts';

describe('verify: the answers', () => {
  const chat = (calls: unknown[]) => JSON.stringify({ conversation_id: 1, response: 'ok', tool_calls: calls });
  it('the chat must have called add_task and got a task id for the same title', () => {
    expect(
      createdTaskId(
        200,
        chat([{ tool: 'add_task', arguments: {}, result: { task_id: 7, status: 'created', title: 'verify x' } }]),
        'verify x',
      ),
    ).toEqual({ id: 7 });
    expect(createdTaskId(200, chat([{ tool: 'list_tasks', result: [] }]), 'verify x')).toEqual({
      problem: 'the agent called no add_task (tool calls: list_tasks)',
    });
    expect(
      createdTaskId(200, chat([{ tool: 'add_task', result: { task_id: 7, title: 'verify' } }]), 'verify x'),
    ).toEqual({ problem: 'add_task created "verify", not "verify x"' });
    expect(createdTaskId(401, '{"detail":"invalid or expired token"}', 'verify x')).toEqual({
      problem: 'POST /chat answered 401: {"detail":"invalid or expired token"}',
    });
    expect(createdTaskId(200, '<html>', 't')).toEqual({ problem: 'POST /chat answered 200 with no JSON: <html>' });
  });
  it('the tasks API must list it under that title', () => {
    expect(taskListed(200, JSON.stringify([{ id: 7, title: 'verify x' }]), 7, 'verify x')).toBeUndefined();
    expect(taskListed(200, JSON.stringify([{ id: 6, title: 'verify x' }]), 7, 'verify x')).toBe(
      "task 7 created through the chat is not in the tasks API's list (1 tasks)",
    );
    expect(taskListed(200, JSON.stringify([{ id: 7, title: 'other' }]), 7, 'verify x')).toBe(
      'task 7 is titled "other", not "verify x"',
    );
    expect(taskListed(503, '', 7, 'x')).toBe('GET /tasks answered 503');
  });
});
