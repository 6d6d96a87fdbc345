// --agent on self-heal and alert: hands the run's findings to a kagent Agent
// with `kagent invoke`. kagent exits 0 even when the call failed (its errors
// go to stderr), so success is judged from its output: an A2A result whose
// task did not fail and that carries the agent's answer.
import type { Context } from '../../kit/cli.ts';
import { agentsConfig, agentsNamespace } from './settings.ts';
import { shell } from '../../kit/shell.ts';
import { toolPath } from '../../kit/tools.ts';

export interface AgentAnswer {
  ok: boolean;
  /** the agent's text, or why it failed */
  text: string;
}

/** Reads kagent invoke's output (pure). */
export function judgeInvoke(stdout: string, stderr: string, exitCode: number | null): AgentAnswer {
  const err = stderr.trim().split('\n').filter(Boolean).pop();
  let doc: unknown;
  try {
    doc = JSON.parse(stdout);
  } catch {
    return {
      ok: false,
      text:
        err ?? (stdout.trim() ? `not an A2A result: ${stdout.trim().slice(0, 120)}` : `no output (exit ${exitCode})`),
    };
  }
  const d = doc as {
    error?: { message?: string };
    status?: { state?: string; message?: { parts?: { text?: string }[] } };
    result?: unknown;
    artifacts?: { parts?: { text?: string }[] }[];
  };
  const task = (d.result ?? d) as typeof d;
  if (d.error) return { ok: false, text: d.error.message ?? 'error' };
  const state = task.status?.state;
  const texts = [...(task.artifacts ?? []).flatMap((a) => a.parts ?? []), ...(task.status?.message?.parts ?? [])]
    .map((p) => p.text)
    .filter((t): t is string => !!t);
  if (state && ['failed', 'rejected', 'canceled'].includes(state))
    return { ok: false, text: `task ${state}${texts.length ? `: ${texts.join(' ')}` : ''}` };
  if (!texts.length) return { ok: false, text: err ?? 'the agent gave no answer' };
  return { ok: true, text: texts.join('\n') };
}

/** The task text: what was found, one line each, and the scope. */
export function agentTask(script: string, namespace: string, release: string, lines: string[]): string {
  return [
    `${script} found these problems in namespace ${namespace} (Helm release ${release}):`,
    ...lines.map((l) => `- ${l}`),
    'Find the root cause of each and say what to do; act only within your instructions.',
  ].join('\n');
}

/** Runs kagent invoke (when kagent is on PATH) with the Agent the setting `agentKey` names, and records the outcome as a finding. */
export async function handToAgent(
  ctx: Context,
  agentKey: 'TODO_KAGENT_HEAL_AGENT' | 'TODO_KAGENT_ALERT_AGENT',
  lines: string[],
): Promise<AgentAnswer | undefined> {
  const cfg = agentsConfig(ctx.cfg);
  const agent = cfg[agentKey];
  if (!lines.length) return undefined;
  // A path, a name on PATH, else the CLI the local cluster built into the suite's tool cache (bootstrap --with-kagent).
  const bin = await toolPath(cfg.TODO_KAGENT_BIN);
  if (!bin) {
    ctx.result.finding({
      name: 'agent',
      level: 'info',
      detail: `--agent: ${cfg.TODO_KAGENT_BIN} is not installed; the deterministic result above stands`,
      hint: 'install kagent, then npx zx ops/agents.ts apply',
    });
    return undefined;
  }
  const task = agentTask(ctx.spec.name, ctx.namespace, ctx.release, lines);
  const timeout = cfg.TODO_KAGENT_TIMEOUT;
  // -n is the Agent's own namespace (kagent answers "Agent ... not found" for any other).
  const ns = agentsNamespace(ctx);
  const url = cfg.TODO_KAGENT_URL ? ['--kagent-url', cfg.TODO_KAGENT_URL] : [];
  const res = await shell({
    timeout: `${timeout + 30}s`,
  })`${bin} invoke -a ${agent} -n ${ns} ${url} -t ${task} --timeout ${`${timeout}s`}`;
  const answer = judgeInvoke(res.stdout, res.stderr, res.exitCode);
  ctx.result.finding({
    name: 'agent',
    level: answer.ok ? 'info' : 'warn',
    required: false,
    detail: `${agent}: ${answer.ok ? answer.text.split('\n').slice(0, 5).join(' ') : `failed: ${answer.text}`}`,
    hint: answer.ok
      ? undefined
      : `is kagent's controller reachable and the Agent Ready? npx zx ops/agents.ts apply -n ${ns} (it waits for them)`,
    evidence: { agent, namespace: ns, ok: answer.ok },
  });
  (ctx.result.data as Record<string, unknown>).agent = { name: agent, ok: answer.ok, text: answer.text };
  return answer;
}
