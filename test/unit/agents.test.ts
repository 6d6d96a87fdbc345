// --agent: how kagent invoke's output is judged (it exits 0 on errors), and
// the task text it is given.
import { describe, expect, it } from 'vitest';
import { agentTask, judgeInvoke } from '../../scripts/lib/ai/kagent/invoke.ts';

describe('judgeInvoke', () => {
  it('a completed task with an answer is a success; its text is the answer', () => {
    const out = JSON.stringify({
      kind: 'task',
      status: { state: 'completed' },
      artifacts: [{ parts: [{ kind: 'text', text: 'the Secret lacks OPENAI_API_KEY' }] }],
    });
    expect(judgeInvoke(out, '', 0)).toEqual({ ok: true, text: 'the Secret lacks OPENAI_API_KEY' });
  });
  it('exit 0 with an error on stderr and no JSON, a failed task, a JSON-RPC error, an empty answer: failures', () => {
    expect(judgeInvoke('', 'Error: failed to invoke agent: agent not found\n', 0)).toEqual({
      ok: false,
      text: 'Error: failed to invoke agent: agent not found',
    });
    expect(
      judgeInvoke(
        JSON.stringify({ status: { state: 'failed', message: { parts: [{ text: 'model refused' }] } } }),
        '',
        0,
      ),
    ).toEqual({ ok: false, text: 'task failed: model refused' });
    expect(judgeInvoke(JSON.stringify({ error: { code: -32000, message: 'no such agent' } }), '', 0)).toEqual({
      ok: false,
      text: 'no such agent',
    });
    expect(judgeInvoke(JSON.stringify({ status: { state: 'completed' } }), '', 0)).toEqual({
      ok: false,
      text: 'the agent gave no answer',
    });
  });
  it('the task names the script, the scope and each problem', () => {
    expect(agentTask('alert', 'todo', 'todo-chatbot', ['FIRING crash-loop'])).toBe(
      'alert found these problems in namespace todo (Helm release todo-chatbot):\n- FIRING crash-loop\nFind the root cause of each and say what to do; act only within your instructions.',
    );
  });
});
