// The --ai step of the K scripts: runs the real kubectl-ai once, non-interactively,
// scoped to the run's cluster and namespace, with the script's own findings on
// stdin, and records the outcome as its own action. Optional by design: when
// kubectl-ai is missing, unconfigured or fails, one line says so and the
// script's deterministic result stands (scripts/lib/kit/cli.ts leaves this action out of the
// exit code).
import fs from 'node:fs';
import path from 'node:path';
import type { Context } from '../../kit/cli.ts';
import { errorMessage } from '../../kit/cli.ts';
import { aiConfig, providerEnv } from './settings.ts';
import { judgeAiRun, kubectlAiArgs, kubectlAiEnv, scopedRequest, stripAnsi, type TracedCommand } from './invoke.ts';
import { addSecret, scrub, type Output } from '../../kit/output.ts';
import type { Action, Finding, Result } from '../../kit/result.ts';
import { commandLine, shell } from '../../kit/shell.ts';
import { aiStatus, providerValues } from './status.ts';

export const aiActionName = 'kubectl-ai';

/** The findings as the model reads them: one line each, with the hint and the evidence. */
export function findingsText(findings: readonly Finding[]): string {
  if (!findings.length) return '(no findings)';
  return findings
    .map((f) => {
      const obj = f.object ? ` ${f.object.kind.toLowerCase()}/${f.object.name}` : '';
      const lines = [`- [${f.level}] ${f.name}${obj}: ${f.detail}`];
      if (f.hint) lines.push(`  next: ${f.hint}`);
      if (f.evidence && Object.keys(f.evidence).length)
        lines.push(`  evidence: ${JSON.stringify(f.evidence).slice(0, 2000)}`);
      return lines.join('\n');
    })
    .join('\n');
}

/** The script's result as context: its findings, then what it did (the AI step excluded). */
export function resultText(result: Result): string {
  const actions = result.actions.filter((a) => a.what !== aiActionName);
  const lines = [`Findings:\n${findingsText(result.findings)}`];
  if (actions.length)
    lines.push(
      `Actions:\n${actions.map((a) => `- ${a.what} ${a.target}: ${a.status}${a.detail ? ` (${a.detail})` : ''}`).join('\n')}`,
    );
  return lines.join('\n\n');
}

/** A kubeconfig with the run's cluster and user only, whose context carries the namespace. */
async function scopedKubeconfig(ctx: Context): Promise<string> {
  const { KubeConfig } = await import('@kubernetes/client-node');
  const kube = await ctx.kube();
  const cluster = kube.kc.getCurrentCluster()!;
  const user = kube.kc.getCurrentUser();
  // Its credentials are secrets too: a `kubectl config view --raw` kubectl-ai runs is scrubbed from output and trace.
  for (const v of [user?.token, user?.password, user?.keyData]) addSecret(v ?? undefined);
  const out = new KubeConfig();
  out.loadFromOptions({
    clusters: [cluster],
    users: user ? [user] : [],
    contexts: [{ name: kube.contextName, cluster: cluster.name, user: user?.name ?? '', namespace: ctx.namespace }],
    currentContext: kube.contextName,
  });
  return out.exportConfig();
}

function record(ctx: Context, request: string, status: Action['status'], detail: string, t0: number): Action {
  return ctx.result.action({
    what: aiActionName,
    target: `namespace ${ctx.namespace}`,
    reason: `--ai ${JSON.stringify(request)}`,
    status,
    detail,
    durationMs: Date.now() - t0,
  });
}

/** Runs the --ai request; records and returns its action. Never throws for kubectl-ai's own failures. */
export async function runAiStep(ctx: Context, findings: string): Promise<Action> {
  const t0 = Date.now();
  const request = ctx.aiRequest ?? '';
  const cfg = aiConfig(ctx.cfg);
  const skip = (why: string) => record(ctx, request, 'skipped', why, t0);
  if (cfg.TODO_AI === 'off' || cfg.TODO_AI === 'kagent') return skip(`TODO_AI=${cfg.TODO_AI}: kubectl-ai is not used`);
  if (ctx.dryRun) return skip('kubectl-ai has no dry run: not run under --dry-run');
  const provided = providerValues(cfg, process.env);
  for (const k of providerEnv[cfg.TODO_AI_PROVIDER].secrets) addSecret(provided[k]);
  const status = await aiStatus(cfg);
  if (status.problem) return skip(`${status.problem}: install kubectl-ai (kubectl krew install ai) to use --ai`);
  if (status.missing.length)
    return skip(
      `kubectl-ai is not configured: ${status.missing.join(', ')} unset for TODO_AI_PROVIDER=${cfg.TODO_AI_PROVIDER}`,
    );

  const dir = path.join((await ctx.state()).dir, 'ai');
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const tracePath = path.join(dir, `${ctx.spec.name}-${stamp}.trace.yaml`);
  // Private and removed afterwards: the kubeconfig carries credentials; kubectl-ai's log and work dir land here too.
  const tmp = fs.mkdtempSync(path.join(dir, 'run-'));
  try {
    const kubeconfig = path.join(tmp, 'kubeconfig');
    fs.writeFileSync(kubeconfig, await scopedKubeconfig(ctx), { mode: 0o600 });
    const args = kubectlAiArgs(cfg, {
      request: scopedRequest(request, { namespace: ctx.namespace, release: ctx.release, script: ctx.spec.name }),
      kubeconfig,
      tracePath,
      yes: ctx.yes,
    });
    const env = kubectlAiEnv(cfg, process.env, { kubeconfig, tmpdir: tmp });
    ctx.out.debug(`$ ${commandLine(status.path!, args)}`);
    let hung = false;
    const res = await ctx.out.progress(`asking kubectl-ai: ${request}`, async () => {
      const p = shell({ env, cwd: tmp, input: findings, timeout: `${cfg.TODO_AI_TIMEOUT}s` })`${status.path!} ${args}`;
      // kubectl-ai 0.0.28 can stay up after printing its final error (seen with a model endpoint
      // that refuses connections): once it has said "Error:", it gets a few seconds to exit.
      let seen = '';
      let grace: NodeJS.Timeout | undefined;
      p.stdout.on('data', (d: Buffer) => {
        seen += d.toString();
        if (!grace && /^Error: /m.test(stripAnsi(seen)))
          grace = setTimeout(() => {
            hung = true;
            void p.kill('SIGKILL');
          }, 5000);
      });
      try {
        return await p;
      } finally {
        clearTimeout(grace);
      }
    });
    if (hung) ctx.out.debug('kubectl-ai did not exit after its error: stopped');
    let trace = '';
    if (fs.existsSync(tracePath)) {
      // Scrubbed in place: tool outputs are in it, and a command could have printed a secret.
      trace = scrub(fs.readFileSync(tracePath, 'utf8'));
      fs.writeFileSync(tracePath, trace, { mode: 0o600 });
      fs.chmodSync(tracePath, 0o600);
    }
    const j = judgeAiRun(
      {
        exitCode: res.exitCode,
        stdout: res.stdout,
        stderr: res.stderr,
        trace,
        timedOut: !hung && res.exitCode === null,
      },
      ctx.namespace,
    );
    ctx.result.data.ai = {
      request,
      status: j.status,
      answer: scrub(j.answer),
      commands: j.commands.map(summary),
      outOfScope: j.outOfScope,
      trace: tracePath,
    };
    return record(ctx, request, j.status, scrub(j.detail), t0);
  } catch (e) {
    return record(ctx, request, 'failed', scrub(`kubectl-ai could not be run: ${errorMessage(e)}`), t0);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

const summary = (c: TracedCommand) => ({
  tool: c.tool,
  command: scrub(c.command),
  ok: c.ok,
  ...(c.error ? { error: scrub(c.error) } : {}),
});

/** After the script's own output: the AI step in a few lines (text mode). */
export function renderAiStep(result: Result, out: Output, action: Action): void {
  const ai = result.data.ai as { answer?: string; commands?: ReturnType<typeof summary>[] } | undefined;
  if (action.status !== 'done') {
    out.say(`\nkubectl-ai (${action.status}): ${action.detail}`);
    return;
  }
  out.say(`\nkubectl-ai: ${action.detail}`);
  if (ai?.answer)
    out.say(
      ai.answer
        .split('\n')
        .map((l) => `  ${l}`)
        .join('\n'),
    );
}
