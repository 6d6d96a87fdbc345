// bootstrap's decisions, pure and unit-tested: the steps and which of them a
// run does (--from, --only, --skip, --with-cron), which target when none is
// given, the command that continues after a failure, how a child script's
// envelope reads as a step's outcome, and the summary's URL and next commands.
import { usageError } from '../lib/kit/errors.ts';
import { quote } from '../lib/kit/hints.ts';
import type { Envelope, Finding } from '../lib/kit/result.ts';

export const steps = ['doctor', 'cluster', 'images', 'secrets', 'deploy', 'verify', 'ai', 'cron', 'summary'] as const;
export type Step = (typeof steps)[number];
export type Target = 'minikube' | 'current' | 'local';
export const targets: readonly Target[] = ['minikube', 'current', 'local'];

export const stepHelp: Record<Step, string> = {
  doctor: 'preflight: tools and versions (scripts/doctor.ts)',
  cluster:
    'minikube start + addons ingress, metrics-server; the current context; or the local cluster, its context todo-ops-local merged into your kubeconfig',
  images: 'build both images into the cluster (scripts/build-images.ts); local: import them into the node',
  secrets:
    'env/.env.local with a generated BETTER_AUTH_SECRET and DEMO_PASSWORD when missing (local: POSTGRES_PASSWORD in env/local.env.local)',
  deploy: 'install or upgrade the release and wait for it (scripts/deploy.ts)',
  verify: 'health endpoints, then a chat round trip (scripts/verify.ts)',
  ai: 'optional: kubectl-ai present? kagent agents applied when TODO_KAGENT_ENABLED or --with-kagent (local: kagent itself too; ops/agents.ts)',
  cron: 'optional, --with-cron: install the ops scripts in cron (scripts/cron.ts)',
  summary: 'the app URL and the next commands',
};

/** Minikube when it is installed; else the local test cluster (a machine like CI's). An explicit --target wins. */
export function chooseTarget(flag: Target | undefined, minikubeInstalled: boolean): { target: Target; why: string } {
  if (flag) return { target: flag, why: '--target' };
  return minikubeInstalled
    ? { target: 'minikube', why: 'minikube is installed' }
    : { target: 'local', why: 'minikube is not installed: the local test cluster' };
}

function checkNames(names: readonly string[], flag: string): Step[] {
  for (const n of names)
    if (!(steps as readonly string[]).includes(n))
      throw usageError(`${flag}: unknown step "${n}"`, `steps: ${steps.join(', ')} (--list describes them)`);
  return names as Step[];
}

/** The steps this run does, in chain order. */
export function selectSteps(o: {
  from?: string;
  only: readonly string[];
  skip: readonly string[];
  withCron: boolean;
}): Step[] {
  if (o.from && o.only.length) throw usageError('--from and --only do not go together');
  const only = checkNames(o.only, '--only');
  const skip = checkNames(o.skip, '--skip');
  const from = o.from ? checkNames([o.from], '--from')[0] : undefined;
  let chosen: Step[] = only.length
    ? steps.filter((s) => only.includes(s))
    : steps.slice(from ? steps.indexOf(from) : 0);
  // cron is opt-in; --only cron asks for it by name.
  if (!o.withCron && !only.includes('cron')) chosen = chosen.filter((s) => s !== 'cron');
  return chosen.filter((s) => !skip.includes(s));
}

/**
 * The command that carries on from a failed step: the user's own arguments
 * without --from/--only (and --dry-run), the target pinned, then --from STEP
 * (or, under --only, the steps of --only still to do).
 */
export function continueCommand(
  entry: string,
  args: readonly string[],
  target: Target,
  failed: Step,
  selected: readonly Step[],
): string {
  const kept: string[] = [];
  let onlyGiven = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const [flag, inline] = a.split('=', 2) as [string, string | undefined];
    if (['--from', '--only', '--target'].includes(flag)) {
      if (flag === '--only') onlyGiven = true;
      if (inline === undefined) i++;
      continue;
    }
    if (a === '--dry-run' || a === '--list') continue;
    kept.push(a);
  }
  const rest = selected.slice(selected.indexOf(failed));
  const resume = onlyGiven ? ['--only', rest.join(',')] : ['--from', failed];
  return ['npx zx', entry, '--target', target, ...kept, ...resume]
    .map((a) => (a === 'npx zx' ? a : quote(a)))
    .join(' ');
}

/** Exit codes a failed step passes on as bootstrap's own; anything else is "an action failed". */
export function stepExitCode(code: number | undefined): 1 | 3 | 4 | 5 {
  return code === 1 || code === 3 || code === 5 ? code : 4;
}

/** The findings of a child's envelope worth repeating when its step failed: the failed ones. */
export function failedFindings(env: Pick<Envelope, 'findings'>): Finding[] {
  return env.findings.filter((f) => f.level === 'fail' && f.required !== false);
}

/** A child's envelope as a step outcome: why it failed, in one line. */
export function childProblem(env: Pick<Envelope, 'exitCode' | 'findings' | 'actions' | 'error'>): string | undefined {
  if (env.exitCode === 0) return undefined;
  if (env.error) return env.error.message;
  const action = env.actions.find((a) => a.status === 'failed');
  if (action) return `${action.what} ${action.target} failed${action.detail ? `: ${action.detail}` : ''}`;
  const f = failedFindings(env)[0];
  return f ? `${f.name}: ${f.detail}` : `exit ${env.exitCode}`;
}

/**
 * doctor before the cluster step: missing or too old required tools stop the
 * chain; an unreachable cluster does only when no cluster step will start one
 * (--target current, or the cluster step skipped). Other checks (nodes,
 * metrics) are deploy's and verify's to meet after the cluster step.
 */
export function doctorVerdict(
  env: Pick<Envelope, 'exitCode' | 'findings' | 'error'>,
  clusterStepRuns: boolean,
  target: Target,
): { problem?: string; hint?: string } {
  if (env.exitCode === 2) return { problem: env.error?.message ?? 'configuration error', hint: env.error?.hint };
  const tools = env.findings.filter((f) => f.name.startsWith('tool ') && f.level === 'fail' && f.required !== false);
  // The local test cluster brings its own kubectl and helm (built once into the tools cache).
  const blocking = target === 'local' ? tools.filter((f) => !['tool kubectl', 'tool helm'].includes(f.name)) : tools;
  if (blocking.length)
    return { problem: blocking.map((f) => `${f.name.slice(5)}: ${f.detail}`).join('; '), hint: blocking[0]!.hint };
  const cluster = env.findings.find((f) => f.name === 'cluster');
  if (cluster?.level === 'fail' && !clusterStepRuns)
    return { problem: `cluster: ${cluster.detail}`, hint: cluster.hint };
  return {};
}

/** kubectl-ai as doctor saw it: its own finding (named kubectl-ai) when doctor has one, else its "tool kubectl-ai" line. */
export function kubectlAiFinding(doctor: Pick<Envelope, 'findings'> | undefined): Finding | undefined {
  return (
    doctor?.findings.find((f) => f.name === 'kubectl-ai') ?? doctor?.findings.find((f) => f.name === 'tool kubectl-ai')
  );
}

/** minikube status -o json says the cluster is up. */
export function minikubeRunning(statusJson: string): boolean {
  try {
    const s = JSON.parse(statusJson) as Record<string, unknown>;
    return s.Host === 'Running' && s.Kubelet === 'Running' && s.APIServer === 'Running';
  } catch {
    return false;
  }
}

/** The addons `minikube addons list -o json` does not show enabled, of those wanted. */
export function addonsToEnable(listJson: string, wanted: readonly string[]): string[] {
  let list: Record<string, { Status?: string }> = {};
  try {
    list = JSON.parse(listJson) as typeof list;
  } catch {
    /* not JSON: enable them all (enabling an enabled addon is harmless) */
  }
  return wanted.filter((a) => list[a]?.Status !== 'enabled');
}

/** Every image reference of the build is listed by the node (`minikube image ls`, which adds docker.io/library/ to bare names). */
export function imagesPresent(refs: readonly string[], listed: string): boolean {
  const have = new Set(
    listed
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean),
  );
  return (
    refs.length > 0 &&
    refs.every((r) => have.has(r) || have.has(`docker.io/library/${r}`) || have.has(`docker.io/${r}`))
  );
}

export interface SummaryInput {
  target: Target;
  namespace: string;
  release: string;
  kubeconfig?: string;
  /** the kube context the port-forward names (local: the one bootstrap merged) */
  context?: string;
  /** kubectl as the user can run it (a path when it is not on PATH) */
  kubectl?: string;
  minikubeUrl?: string;
  ingressHosts: string[];
}

/** Where the app answers and how to reach it, for each target. */
export function appAccess(s: SummaryInput): { url?: string; how: string[] } {
  const kc = s.kubeconfig ? `KUBECONFIG=${s.kubeconfig} ` : '';
  const ctx = s.context ? ` --context ${s.context}` : '';
  const forward = `${kc}${s.kubectl ?? 'kubectl'}${ctx} port-forward -n ${s.namespace} svc/${s.release}-frontend 3000:3000   # then open http://127.0.0.1:3000`;
  const how: string[] = [];
  let url: string | undefined;
  if (s.ingressHosts.length) {
    url = `http://${s.ingressHosts[0]}/`;
    how.push(
      `ingress: ${s.ingressHosts.map((h) => `http://${h}/`).join(', ')}${s.target === 'minikube' ? ' (map the host to `minikube ip` in /etc/hosts, or run `minikube tunnel`)' : ''}`,
    );
  }
  if (s.minikubeUrl) {
    url ??= s.minikubeUrl;
    how.push(`minikube service: ${s.minikubeUrl}   (minikube service -n ${s.namespace} ${s.release}-frontend)`);
  }
  if (s.target === 'local') how.push(`the local cluster's Services answer inside it only: ${forward}`);
  else how.push(`port-forward: ${forward}`);
  return { url: url ?? 'http://127.0.0.1:3000 (after the port-forward)', how };
}

/**
 * What to run next, each runnable as printed: the children's profile (local:
 * `local`, whose context the cluster step merged), context and kubeconfig.
 */
export function nextCommands(s: {
  target: Target;
  namespace: string;
  kubeconfig?: string;
  profile?: string;
  context?: string;
  /** the kagent Agents were applied: the hand-over to them is worth a line */
  agents?: boolean;
}): string[] {
  const flags = `${s.profile ? ` -p ${s.profile}` : ''}${s.context ? ` --context ${s.context}` : ''}${s.kubeconfig ? ` --kubeconfig ${s.kubeconfig}` : ''} -n ${s.namespace}`;
  return [
    `npx zx scripts/monitor.ts${flags} --probe   # health at a glance`,
    `npx zx scripts/verify.ts${flags}            # the chat round trip again`,
    `npx zx scripts/debug.ts${flags}             # what is wrong, if anything`,
    `npx zx scripts/scale.ts${flags} backend 2   # more replicas`,
    // The local profile's values name the images the node has; elsewhere a redeploy needs the build's --images.
    ...(s.target === 'local'
      ? [`npx zx scripts/deploy.ts${flags}            # redeploy after changing the chart, values or env files`]
      : []),
    ...(s.agents ? [`npx zx ops/self-heal.ts${flags} --agent     # its findings, then the kagent Agent's answer`] : []),
  ];
}
