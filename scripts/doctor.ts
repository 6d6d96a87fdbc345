#!/usr/bin/env -S npx zx
// Preflight: are the tools, the cluster, the namespace and the metrics API
// ready for this profile? Every other script can run it first.
import { errorMessage, main, type Context } from './lib/cli.ts';
import { Exit, type ExitCode } from './lib/errors.ts';
import { colourLevel, table, type Level } from './lib/output.ts';
import { detect, type ToolName } from './lib/tools.ts';
import type { Kube } from './lib/kube.ts';
import { OpsError } from './lib/errors.ts';

export interface Check {
  name: string;
  level: Level;
  detail: string;
  hint?: string;
  /** a failed required check makes the exit code non-zero */
  required: boolean;
}

async function toolChecks(ctx: Context): Promise<Check[]> {
  const required: ToolName[] = ['kubectl', 'helm', ...(ctx.cfg.TODO_TARGET === 'minikube' ? (['minikube'] as const) : [])];
  const optional: ToolName[] = ['docker', 'buildah', 'kubectl-ai', 'kagent', ...(ctx.cfg.TODO_TARGET === 'minikube' ? [] : (['minikube'] as const))];
  const infos = await Promise.all([...required, ...optional].map(detect));
  const checks = infos.map((t): Check => {
    const req = required.includes(t.name);
    return {
      name: `tool ${t.name}`,
      level: t.ok ? 'ok' : req ? 'fail' : 'info',
      detail: t.ok ? `${t.version} (${t.path})` : `${t.problem}${req ? '' : ' (optional)'}`,
      hint: t.ok ? undefined : `install: ${t.hint}`,
      required: req,
    };
  });
  const builders = infos.filter((t) => ['docker', 'buildah', 'minikube'].includes(t.name) && t.ok);
  checks.push({
    name: 'image builder',
    level: builders.length ? 'ok' : 'warn',
    detail: builders.length ? builders.map((b) => b.name).join(', ') : 'none of docker, minikube, buildah (needed only to build images)',
    hint: builders.length ? undefined : 'install docker or minikube',
    required: false,
  });
  return checks;
}

async function clusterChecks(ctx: Context, kube: Kube, kubectlVersion?: string): Promise<Check[]> {
  const checks: Check[] = [];
  const v = await kube.version(); // throws exit 3 when unreachable
  checks.push({ name: 'cluster', level: 'ok', detail: `${kube.contextName} at ${kube.server}, Kubernetes ${v.gitVersion}`, required: true });
  if (kubectlVersion) {
    const skew = Math.abs(Number(kubectlVersion.split('.')[1]) - Number(v.minor.replace(/\D/g, '')));
    checks.push({
      name: 'kubectl skew',
      level: skew <= 1 ? 'ok' : 'warn',
      detail: `kubectl ${kubectlVersion} vs server ${v.gitVersion}${skew <= 1 ? '' : ' (more than one minor apart)'}`,
      hint: skew <= 1 ? undefined : 'use a kubectl within one minor version of the server',
      required: false,
    });
  }
  const [nodes, ns, metrics] = await Promise.all([
    kube.list<{ metadata?: { name?: string }; status?: { conditions?: { type: string; status: string }[] } }>('v1', 'Node'),
    kube.read('v1', 'Namespace', ctx.namespace),
    kube.podMetrics(ctx.namespace).catch((e: unknown) => new Error(errorMessage(e))),
  ]);
  const ready = nodes.filter((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
  checks.push({
    name: 'nodes',
    level: ready.length ? 'ok' : 'fail',
    detail: `${ready.length}/${nodes.length} Ready`,
    hint: ready.length ? undefined : 'no Ready node: pods cannot be scheduled',
    required: true,
  });
  checks.push({
    name: 'namespace',
    level: ns ? 'ok' : 'warn',
    detail: ns ? `${ctx.namespace} exists` : `${ctx.namespace} does not exist yet (deploy creates it)`,
    required: false,
  });
  const metricsOk = metrics !== undefined && !(metrics instanceof Error);
  checks.push({
    name: 'metrics API',
    level: metricsOk ? 'ok' : ctx.cfg.TODO_REQUIRE_METRICS ? 'fail' : 'warn',
    detail: metricsOk ? 'metrics.k8s.io answers' : metrics instanceof Error ? metrics.message : 'metrics.k8s.io is not served',
    hint: metricsOk ? undefined : 'minikube addons enable metrics-server (HPA, autoscale and right-size need it)',
    required: ctx.cfg.TODO_REQUIRE_METRICS,
  });
  return checks;
}

await main({
  name: 'doctor',
  summary: 'check tools, cluster, namespace and metrics API for a profile',
  description: 'Read-only. Exits 1 when a required check fails, 3 when the cluster cannot be reached.',
  examples: ['npx zx scripts/doctor.ts', 'npx zx scripts/doctor.ts --profile testbed --output json'],
  async run(ctx) {
    const checks = await toolChecks(ctx);
    let exit: ExitCode = Exit.ok;
    try {
      const kubectl = checks.find((c) => c.name === 'tool kubectl' && c.level === 'ok');
      checks.push(...(await clusterChecks(ctx, await ctx.kube(), kubectl?.detail.split(' ')[0])));
    } catch (e) {
      if (!(e instanceof OpsError) || e.code !== Exit.unreachable) throw e;
      checks.push({ name: 'cluster', level: 'fail', detail: e.message, hint: e.hint, required: true });
      exit = Exit.unreachable;
    }
    const failed = checks.filter((c) => c.level === 'fail' && c.required);
    if (exit === Exit.ok && failed.length) exit = Exit.problem;
    if (ctx.json) {
      ctx.out.json({ ok: exit === Exit.ok, profile: ctx.cfg.profile, namespace: ctx.namespace, checks, exitCode: exit });
    } else {
      ctx.out.say(table(checks.map((c) => ({ ...c, level: colourLevel(c.level), hint: c.hint ?? '' })), ['name', 'level', 'detail', 'hint']));
      ctx.out.say(failed.length || exit ? `\n${failed.length || 1} required check(s) failed` : '\nall required checks passed');
    }
    return exit;
  },
});
