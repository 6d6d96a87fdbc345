// doctor's checks, as findings: tools and versions, the cluster, kubectl's
// version skew, nodes, the namespace and the metrics API. Deciding what a
// state means (assess*) is kept apart from gathering it, so it is unit-tested.
// requireDoctor turns the findings into the verdict a changing script needs.
import { Exit } from '../kit/errors.ts';
import { OpsError } from '../kit/errors.ts';
import { errorMessage, type Context } from '../kit/cli.ts';
import type { Finding } from '../kit/result.ts';
import { detect, type ToolInfo, type ToolName } from '../kit/tools.ts';
import type { Kube } from '../kube/client.ts';
import { aiConfig } from '../ai/kubectl-ai/settings.ts';
import { aiStatus, assessAi } from '../ai/kubectl-ai/status.ts';

function assessTools(infos: ToolInfo[], required: readonly ToolName[]): Finding[] {
  const findings = infos.map((t): Finding => {
    const req = required.includes(t.name);
    return {
      name: `tool ${t.name}`,
      level: t.ok ? 'ok' : req ? 'fail' : 'info',
      detail: t.ok ? `${t.version} (${t.path})` : `${t.problem}${req ? '' : ' (optional)'}`,
      ...(t.ok ? {} : { hint: `install: ${t.hint}` }),
      required: req,
      evidence: { version: t.version ?? null },
    };
  });
  const builders = infos.filter((t) => ['docker', 'buildah', 'minikube'].includes(t.name) && t.ok);
  findings.push({
    name: 'image builder',
    level: builders.length ? 'ok' : 'warn',
    detail: builders.length
      ? builders.map((b) => b.name).join(', ')
      : 'none of docker, minikube, buildah (needed only to build images)',
    ...(builders.length ? {} : { hint: 'install docker or minikube' }),
    required: false,
  });
  return findings;
}

/** kubectl is supported within one minor version of the API server. */
function assessSkew(kubectl: string, server: { gitVersion: string; minor: string }): Finding {
  const skew = Math.abs(Number(kubectl.split('.')[1]) - Number(server.minor.replace(/\D/g, '')));
  return {
    name: 'kubectl skew',
    level: skew <= 1 ? 'ok' : 'warn',
    detail: `kubectl ${kubectl} vs server ${server.gitVersion}${skew <= 1 ? '' : ` (${skew} minor versions apart)`}`,
    ...(skew <= 1 ? {} : { hint: 'use a kubectl within one minor version of the server' }),
    required: false,
  };
}

interface NodeLike {
  metadata?: { name?: string };
  status?: { conditions?: { type: string; status: string; reason?: string }[] };
}

function assessNodes(nodes: readonly NodeLike[]): Finding {
  const notReady = nodes.filter((n) => !n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
  const ready = nodes.length - notReady.length;
  const names = notReady
    .map((n) => n.metadata?.name)
    .slice(0, 5)
    .join(', ');
  return {
    name: 'nodes',
    level: ready === 0 ? 'fail' : notReady.length ? 'warn' : 'ok',
    detail: `${ready}/${nodes.length} Ready${notReady.length ? `; not Ready: ${names}${notReady.length > 5 ? ', ...' : ''}` : ''}`,
    ...(ready === 0
      ? { hint: 'no Ready node: pods cannot be scheduled (kubectl describe nodes)' }
      : notReady.length
        ? { hint: `kubectl describe node ${notReady[0]!.metadata?.name}` }
        : {}),
    required: true,
    evidence: { ready, total: nodes.length, notReady: notReady.map((n) => n.metadata?.name) },
  };
}

function assessMetrics(state: 'ok' | 'absent' | Error, required: boolean): Finding {
  const ok = state === 'ok';
  return {
    name: 'metrics API',
    level: ok ? 'ok' : required ? 'fail' : 'warn',
    detail: ok ? 'metrics.k8s.io answers' : state instanceof Error ? state.message : 'metrics.k8s.io is not served',
    ...(ok
      ? {}
      : {
          hint: 'minikube addons enable metrics-server (HPA, autoscale and right-size need it); TODO_REQUIRE_METRICS=false to make it optional',
        }),
    required,
  };
}

interface APIService {
  apiVersion?: string;
  kind?: string;
  status?: { conditions?: { type: string; status: string; message?: string }[] };
}

/**
 * The metrics API as the aggregator sees it: its APIService missing means
 * metrics-server is not installed; present but not Available says why (the
 * aggregator's own message); Available, then one real PodMetrics call.
 */
async function metricsState(kube: Kube, namespace: string): Promise<'ok' | 'absent' | Error> {
  const svc = await kube.read<APIService>('apiregistration.k8s.io/v1', 'APIService', 'v1beta1.metrics.k8s.io');
  if (!svc) return 'absent';
  const available = svc.status?.conditions?.find((c) => c.type === 'Available');
  if (available?.status !== 'True')
    return new Error(`metrics.k8s.io is registered but not available: ${available?.message ?? 'no status yet'}`);
  try {
    return (await kube.podMetrics(namespace)) ? 'ok' : 'absent';
  } catch (e) {
    if (e instanceof OpsError && e.code === Exit.unreachable) throw e;
    return new Error(errorMessage(e));
  }
}

/** Runs every check into ctx.result; says whether the cluster was unreachable (exit 3). */
export async function doctorFindings(ctx: Context): Promise<{ unreachable: boolean }> {
  const minikube = ctx.cfg.TODO_TARGET === 'minikube';
  const required: ToolName[] = ['kubectl', 'helm', ...(minikube ? (['minikube'] as const) : [])];
  // kubectl-ai is not a tool row: its own finding (below) says installed, version and configured, once.
  const optional: ToolName[] = ['docker', 'buildah', 'kagent', ...(minikube ? [] : (['minikube'] as const))];
  const [infos, ai] = await Promise.all([
    Promise.all([...required, ...optional].map(detect)),
    aiStatus(aiConfig(ctx.cfg)),
  ]);
  for (const f of assessTools(infos, required)) ctx.result.finding(f);
  // The --ai layer: binary, version, provider configured; never calls a model, never required.
  ctx.result.finding(assessAi(ai, String(ctx.cfg.TODO_AI)));
  // kagent's controller, when the kagent layer is on: reachable, and its version. A warning only: the scripts that
  // hand work to kagent (--agent) say themselves when it cannot be reached.
  const { kagentInUse, kagentControllerStatus, assessKagentController } = await import('../ai/kagent/status.ts');
  if (kagentInUse(ctx)) ctx.result.finding(assessKagentController(await kagentControllerStatus(ctx), ctx.cfg.profile));
  try {
    const kube = await ctx.kube();
    const v = await kube.version(); // exit 3 when unreachable
    ctx.result.finding({
      name: 'cluster',
      level: 'ok',
      detail: `${kube.contextName} at ${kube.server}, Kubernetes ${v.gitVersion}`,
      required: true,
    });
    const kubectl = infos.find((t) => t.name === 'kubectl' && t.ok)?.version;
    if (kubectl) ctx.result.finding(assessSkew(kubectl, v));
    const [nodes, ns, metrics] = await Promise.all([
      kube.list<NodeLike & { apiVersion?: string; kind?: string }>('v1', 'Node'),
      kube.read('v1', 'Namespace', ctx.namespace),
      metricsState(kube, ctx.namespace),
    ]);
    ctx.result.finding(assessNodes(nodes));
    ctx.result.finding({
      name: 'namespace',
      level: ns ? 'ok' : 'warn',
      detail: ns ? `${ctx.namespace} exists` : `${ctx.namespace} does not exist yet (deploy creates it)`,
      required: false,
    });
    ctx.result.finding(assessMetrics(metrics, ctx.cfg.TODO_REQUIRE_METRICS));
    return { unreachable: false };
  } catch (e) {
    if (!(e instanceof OpsError) || e.code !== Exit.unreachable) throw e;
    ctx.result.finding({
      name: 'cluster',
      level: 'fail',
      detail: e.message,
      ...(e.hint ? { hint: e.hint } : {}),
      required: true,
    });
    return { unreachable: true };
  }
}

/** doctor's verdict before any change: exit 3 when unreachable, 1 when a required check failed. */
export function requireDoctor(ctx: Context, doctor: { unreachable: boolean }): void {
  if (doctor.unreachable)
    throw new OpsError(
      ctx.result.findings.find((f) => f.name === 'cluster')?.detail ?? 'cluster unreachable',
      Exit.unreachable,
    );
  const failed = ctx.result.findings.filter((f) => f.level === 'fail' && f.required !== false);
  if (failed.length)
    throw new OpsError(
      `doctor: ${failed.map((f) => `${f.name}: ${f.detail}`).join('; ')}`,
      Exit.problem,
      failed[0]!.hint ?? 'npx zx scripts/doctor.ts',
    );
}
