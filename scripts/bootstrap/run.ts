// bootstrap's chain: each step runs a script of the suite as a child process
// (child.ts) and reads its envelope, or drives the one outside tool
// the step is about (minikube, the local test cluster). A failed step stops
// the chain with its reason, debug's diagnosis and the command that continues.
import fs from 'node:fs';
import path from 'node:path';
import { which } from 'zx';
import { errorMessage } from '../lib/kit/cli.ts';
import { envDir, repoRoot } from '../lib/kit/env.ts';
import { agentsConfig } from '../lib/ai/kagent/settings.ts';
import { Exit, OpsError, usageError, type ExitCode } from '../lib/kit/errors.ts';
import type { Envelope, Finding } from '../lib/kit/result.ts';
import { addSecret } from '../lib/kit/output.ts';
import { commandLine, run, shell } from '../lib/kit/shell.ts';
import { detect, toolPath, toolsCacheBin } from '../lib/kit/tools.ts';
import { generateSecret, generatedSecretKeys } from '../lib/release/secrets.ts';
import { editEnvText, shown, writeEnvKey } from '../lib/kit/env-files.ts';
import { runScript } from './child.ts';
import type { BootstrapContext } from './spec.ts';
import {
  addonsToEnable,
  appAccess,
  childProblem,
  chooseTarget,
  continueCommand,
  doctorVerdict,
  failedFindings,
  imagesPresent,
  kubectlAiFinding,
  minikubeRunning,
  nextCommands,
  selectSteps,
  stepExitCode,
  stepHelp,
  type Step,
  type Target,
} from './steps.ts';

export type StepStatus = 'done' | 'unchanged' | 'skipped' | 'failed' | 'planned';
export interface StepRecord {
  name: Step;
  status: StepStatus;
  detail: string;
  durationMs: number;
  /** the child script's exit code, when the step ran one */
  exitCode?: number;
  /** the envelopes of the scripts the step ran (the kit's result shape), in order */
  results?: Envelope[];
}

class StepFailure extends Error {
  readonly code: number | undefined;
  readonly hint?: string;
  readonly findings: Finding[];
  /** bootstrap's own exit code, when not derived from the child's (a missing prerequisite: 2, nothing changed) */
  readonly exit?: ExitCode;
  constructor(message: string, code: number | undefined, hint?: string, findings: Finding[] = [], exit?: ExitCode) {
    super(message);
    this.code = code;
    this.hint = hint;
    this.findings = findings;
    this.exit = exit;
  }
}

interface Outcome {
  status: 'done' | 'unchanged' | 'skipped';
  detail: string;
}

/** What the steps share: the target, how children reach the cluster, what earlier steps found. */
interface Run {
  ctx: BootstrapContext;
  target: Target;
  selected: Step[];
  /** flags every child gets: the user's own, and the local cluster's */
  childArgs: string[];
  childEnv: NodeJS.ProcessEnv;
  /** local with another profile than `local` (the kwok tests' testbed): the test cluster's kubeconfig */
  kubeconfig?: string;
  /** local: the children's profile is `local` (its context merged into the user's kubeconfig, its data kept) */
  localProfile: boolean;
  minikubeProfile: string;
  imagesFile: string;
  valuesFiles: string[];
  doctor?: Envelope;
  bedCreated?: boolean;
  /** local: the machine's prerequisites were checked (and installed) this run */
  systemChecked?: boolean;
  /** the envelopes the current step's children printed */
  results: Envelope[];
}

const minikubeAddons = ['ingress', 'metrics-server'] as const;

interface GivenFlags {
  profile?: string;
  context?: string;
  namespace?: string;
  kubeconfig?: string;
  verbose: boolean;
}
/** The kit's flags as the user gave them, passed on to every child. */
const givenFlags = (ctx: BootstrapContext): GivenFlags => ({ ...ctx.given, verbose: ctx.out.verbose });

export async function runBootstrap(ctx: BootstrapContext): Promise<ExitCode | void> {
  const o = ctx.opts;
  const selected = selectSteps({ from: o.from, only: o.only, skip: o.skip, withCron: o['with-cron'] });
  const { target, why } = chooseTarget(o.target, Boolean(await which('minikube', { nothrow: true })));
  if (o['with-kagent'] && target !== 'local')
    throw usageError(
      `--with-kagent needs the local target (this run's: ${target})`,
      `add --target local; on another cluster install kagent with its Helm charts (README: kagent), then: TODO_KAGENT_ENABLED=true npx zx scripts/bootstrap.ts --target ${target} --only ai`,
    );
  ctx.result.data = { target, targetWhy: why, steps: [] as StepRecord[] };
  if (o.list) {
    ctx.result.data.list = (await import('./steps.ts')).steps.map((s) => ({
      name: s,
      selected: selected.includes(s),
      help: stepHelp[s],
    }));
    return Exit.ok;
  }
  const r = await prepare(ctx, target, selected, givenFlags(ctx));
  const records = ctx.result.data.steps as StepRecord[];
  if (!ctx.json) ctx.out.say(`bootstrap: target ${target} (${why}); steps: ${selected.join(' → ')}`);
  notice(r);
  for (const step of selected) {
    const t0 = Date.now();
    r.results = [];
    if (ctx.dryRun) {
      let detail = dryRunLine(r, step);
      // The machine's prerequisites are read for real: a dry run shows the install, or stops as the run would.
      if (step === 'doctor' && target === 'local')
        try {
          detail = `${await ensureSystem(r)}; then ${detail}`;
        } catch (e) {
          return stop(r, step, e, t0);
        }
      records.push({ name: step, status: 'planned', detail, durationMs: 0 });
      ctx.result.action({ what: `step ${step}`, target, reason: stepHelp[step], status: 'planned', detail });
      continue;
    }
    if (!ctx.json) ctx.out.say(`▶ ${step}: ${stepHelp[step]}`);
    try {
      const res = await stepRunners[step](r);
      const durationMs = Date.now() - t0;
      records.push({
        name: step,
        status: res.status,
        detail: res.detail,
        durationMs,
        ...(r.results.length ? { results: r.results } : {}),
      });
      ctx.result.action({
        what: `step ${step}`,
        target,
        reason: stepHelp[step],
        status: res.status === 'skipped' ? 'skipped' : 'done',
        detail: res.detail,
        durationMs,
      });
      if (!ctx.json)
        ctx.out.say(
          `${res.status === 'skipped' ? '–' : '✓'} ${step} (${(durationMs / 1000).toFixed(1)} s): ${res.detail}`,
        );
    } catch (e) {
      return stop(r, step, e, t0);
    }
  }
  const ran = records.filter((x) => x.status !== 'skipped');
  ctx.result.data.changed = ran.some((x) => x.status === 'done' && changingSteps.has(x.name));
}

/** A failed step: its record, the finding with the command that continues, the rest skipped; the exit code. */
function stop(r: Run, step: Step, e: unknown, t0: number): ExitCode {
  const { ctx, target, selected } = r;
  const records = ctx.result.data.steps as StepRecord[];
  const durationMs = Date.now() - t0;
  const f =
    e instanceof StepFailure
      ? e
      : new StepFailure(
          errorMessage(e),
          e instanceof OpsError ? e.code : undefined,
          e instanceof OpsError ? e.hint : undefined,
        );
  const again = continueCommand(entryOf(ctx), scriptArgs(), target, step, selected);
  records.push({
    name: step,
    status: 'failed',
    detail: f.message,
    durationMs,
    ...(f.code !== undefined ? { exitCode: f.code } : {}),
    ...(r.results.length ? { results: r.results } : {}),
  });
  ctx.result.action({
    what: `step ${step}`,
    target,
    reason: stepHelp[step],
    status: 'failed',
    detail: f.message,
    durationMs,
  });
  for (const x of f.findings) ctx.result.finding({ ...x, required: false });
  ctx.result.finding({
    name: `step ${step}`,
    level: 'fail',
    detail: f.message,
    hint: `${f.hint ? `${f.hint}; then ` : ''}continue with: ${again}`,
    required: true,
    evidence: {
      continue: again,
      ...(f.hint ? { hint: f.hint } : {}),
      ...(f.code !== undefined ? { exitCode: f.code } : {}),
    },
  });
  for (const s of selected.slice(selected.indexOf(step) + 1))
    records.push({ name: s, status: 'skipped', detail: `not run: step ${step} failed`, durationMs: 0 });
  ctx.result.data.continue = again;
  return f.exit ?? stepExitCode(f.code);
}

const changingSteps = new Set<Step>(['cluster', 'images', 'secrets', 'deploy', 'ai', 'cron']);

/** The entry as the user ran it, and their arguments (for the continue command). */
const entryOf = (_ctx: BootstrapContext) => 'scripts/bootstrap.ts';
function scriptArgs(): string[] {
  const i = process.argv.findIndex((a) => /bootstrap\.(ts|js)$/.test(a));
  return i < 0
    ? []
    : process.argv
        .slice(i + 1)
        .filter(
          (a, j, all) =>
            !(
              a === '-o' ||
              a === '--output' ||
              a.startsWith('--output=') ||
              ((all[j - 1] === '-o' || all[j - 1] === '--output') && !a.startsWith('-'))
            ),
        );
}

async function prepare(ctx: BootstrapContext, target: Target, selected: Step[], o: GivenFlags): Promise<Run> {
  const childArgs: string[] = [];
  const childEnv: NodeJS.ProcessEnv = {};
  let kubeconfig = o.kubeconfig;
  const valuesFiles: string[] = [];
  let profile = o.profile;
  let localProfile = false;
  if (target === 'local') {
    // Without a profile of their own, children use `local`: the app on the real node, its data kept,
    // the cluster reached through the context the cluster step merges into the user's kubeconfig.
    // (The scripts find the cluster's kubectl and helm in the tools cache themselves: kit/tools.ts.)
    if (!profile && !process.env.TODO_PROFILE) profile = 'local';
    localProfile = (profile ?? process.env.TODO_PROFILE) === 'local';
    if (!localProfile) {
      // Another profile (the kwok tests' testbed): the bed's own kubeconfig, and the real node for the pods.
      kubeconfig ??= (await import('../lib/local-cluster/layout.ts')).kubeconfigPath;
      valuesFiles.push(path.join(repoRoot, 'scripts/lib/local-cluster/values-realnode.yaml'));
    }
  }
  if (profile) childArgs.push('--profile', profile);
  if (o.context) childArgs.push('--context', o.context);
  if (o.namespace) childArgs.push('--namespace', o.namespace);
  if (kubeconfig) childArgs.push('--kubeconfig', kubeconfig);
  if (o.verbose) childArgs.push('--verbose');
  const stateDir = path.join(ctx.cfg.TODO_STATE_DIR, 'bootstrap');
  return {
    ctx,
    target,
    selected,
    childArgs,
    childEnv,
    kubeconfig,
    localProfile,
    valuesFiles,
    minikubeProfile: ctx.context || 'minikube',
    imagesFile: path.join(stateDir, `images-${target}.json`),
    results: [],
  };
}

/** Says up front what a first run costs. */
function notice(r: Run): void {
  if (r.ctx.dryRun) return;
  if (r.target === 'local' && r.selected.includes('cluster')) {
    if (!fs.existsSync(path.join(toolsCacheBin(), 'kube-apiserver')))
      r.ctx.out.warn(
        "first run: the local test cluster's binaries are built from source once (about 30 min on 2 cores), then its images (a few minutes); both are cached for every later run (about a minute)",
      );
  } else if (r.target !== 'local' && r.selected.includes('images') && !fs.existsSync(r.imagesFile)) {
    r.ctx.out.warn(
      'first run: building the two images takes a few minutes (about 5-10 on 2 cores); later builds reuse the cached layers',
    );
  }
}

function say(r: Run, line: string): void {
  if (r.ctx.out.verbose || !r.ctx.json) process.stderr.write(`  │ ${line}\n`);
}

/**
 * local: the machine's prerequisites (lib/preflight/prereqs.ts), before
 * anything starts. Missing ones are installed when this machine can (root on
 * Debian or Ubuntu) and the user agreed (--yes, TODO_BOOTSTRAP_INSTALL=1, a
 * "y" on a terminal); else the run stops here, exit 2, with one line naming
 * each missing command and its package, and the command to run.
 */
async function ensureSystem(r: Run): Promise<string> {
  r.systemChecked = true;
  const [{ ensurePrereqs, PrereqError }, { prereqsFor }, { missingLine }] = await Promise.all([
    import('../lib/preflight/system.ts'),
    import('../lib/preflight/prereqs.ts'),
    import('../lib/preflight/install-plan.ts'),
  ]);
  const list = prereqsFor('local');
  let outcome;
  try {
    outcome = await ensurePrereqs(list, {
      dryRun: r.ctx.dryRun,
      yes: r.ctx.opts.yes,
      agreed: r.ctx.cfg.TODO_BOOTSTRAP_INSTALL,
      agreeHow: '--yes, or TODO_BOOTSTRAP_INSTALL=1 without a terminal',
      tty: Boolean(process.stdin.isTTY && process.stderr.isTTY),
      say: (l) => say(r, l),
    });
  } catch (e) {
    if (!(e instanceof PrereqError)) throw e;
    r.ctx.result.data.prerequisites = {
      missing: e.missing.map((s) => ({ name: s.prereq.name, package: s.prereq.package, problem: s.problem })),
    };
    throw new StepFailure(e.message, e.code, e.hint, [], e.code === Exit.usage ? Exit.usage : undefined);
  }
  const { plan, statuses, status } = outcome;
  if (plan.kind === 'install')
    r.ctx.result.action({
      what: 'install system packages',
      target: plan.packages.join(' '),
      reason: `missing: ${missingLine(list.filter((p) => plan.packages.includes(p.package)))}`,
      status: status === 'planned' ? 'planned' : 'done',
      detail: plan.line,
    });
  for (const s of statuses) if (s.note) say(r, `${s.prereq.name} ${s.version}: ${s.note}`);
  const go = statuses.find((s) => s.prereq.name === 'go');
  const summary = `${statuses.length} system prerequisites ${status === 'installed' ? `present after installing ${plan.kind === 'install' ? plan.packages.join(' ') : ''}` : 'present'}${go?.version ? ` (go ${go.version})` : ''}`;
  return status === 'planned' && plan.kind === 'install' ? `would install: ${plan.line}` : summary;
}

/** Runs a suite script with the run's flags; its envelope, or a StepFailure with its reason. */
async function child(r: Run, script: string, args: string[], o: { quiet?: boolean } = {}): Promise<Envelope> {
  const res = await runScript(script, [...args, ...r.childArgs], {
    env: r.childEnv,
    onLine: o.quiet ? undefined : (l) => l.trim() && say(r, l),
  });
  const env = res.envelope;
  if (env) r.results.push(env);
  if (!env)
    throw new StepFailure(
      `${script} printed no result (exit ${res.code}): ${res.tail.filter(Boolean).slice(-1)[0] ?? ''}`,
      res.code ?? undefined,
    );
  const problem = childProblem(env);
  if (problem)
    throw new StepFailure(
      `${script}: ${problem}`,
      env.exitCode,
      env.error?.hint ?? failedFindings(env)[0]?.hint,
      failedFindings(env),
    );
  return env;
}

/** debug's findings for the release: the diagnosis a failed deploy or verify comes with. */
async function diagnose(r: Run): Promise<Finding[]> {
  const res = await runScript('scripts/debug.ts', r.childArgs, { env: r.childEnv });
  if (res.envelope) r.results.push(res.envelope);
  return (res.envelope?.findings ?? [])
    .filter((f) => f.level === 'fail' || f.level === 'warn')
    .map((f) => ({ ...f, name: `debug: ${f.name}` }));
}

async function withDiagnosis<T>(r: Run, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof StepFailure && e.code !== Exit.unreachable && e.code !== Exit.usage && e.code !== Exit.busy) {
      const found = await diagnose(r).catch(() => []);
      throw new StepFailure(e.message, e.code, e.hint, [...e.findings, ...found]);
    }
    throw e;
  }
}

const mk = (r: Run, args: string[]) =>
  run('minikube', [...args, '--profile', r.minikubeProfile], {
    log: (m) => r.ctx.out.debug(m),
    timeout: '20m',
    stream: false,
  });

const stepRunners: Record<Step, (r: Run) => Promise<Outcome>> = {
  async doctor(r) {
    const system = r.target === 'local' ? await ensureSystem(r) : undefined;
    const res = await runScript('scripts/doctor.ts', r.childArgs, { env: r.childEnv });
    if (!res.envelope)
      throw new StepFailure(
        `doctor printed no result (exit ${res.code}): ${res.tail.filter(Boolean).pop() ?? ''}`,
        res.code ?? undefined,
      );
    r.doctor = res.envelope;
    r.results.push(res.envelope);
    const verdict = doctorVerdict(res.envelope, r.selected.includes('cluster') && r.target !== 'current', r.target);
    if (verdict.problem)
      throw new StepFailure(
        `doctor: ${verdict.problem}`,
        res.envelope.exitCode === Exit.ok ? Exit.problem : res.envelope.exitCode,
        verdict.hint,
        failedFindings(res.envelope),
      );
    const cluster = res.envelope.findings.find((f) => f.name === 'cluster');
    const tools = res.envelope.findings
      .filter((f) => f.name.startsWith('tool ') && f.level === 'ok')
      .map((f) => f.name.slice(5));
    return {
      status: 'done',
      detail: `${system ? `${system}; ` : ''}tools: ${tools.join(', ')}; cluster: ${cluster?.level === 'ok' ? 'reachable' : 'not up yet (the cluster step starts it)'}`,
    };
  },

  async cluster(r) {
    if (r.target === 'current') {
      const k = await r.ctx.kube();
      await k.version();
      return { status: 'unchanged', detail: `using context ${k.contextName} (${k.server})` };
    }
    if (r.target === 'local') {
      if (!r.systemChecked) await ensureSystem(r);
      const bed = await import('../lib/local-cluster/cluster.ts');
      let outcome: Outcome;
      if (await bed.healthy())
        outcome = { status: 'unchanged', detail: `the local test cluster ${bed.bedName} is running: reused` };
      else {
        const up = await bed.up((m) => say(r, m));
        r.bedCreated = up.created;
        outcome = {
          status: 'done',
          detail: `started the local test cluster ${bed.bedName} (${Object.entries(up.timings)
            .map(([k, v]) => `${k} ${v}s`)
            .join(', ')})`,
        };
      }
      return r.localProfile ? localTarget(r, outcome) : outcome;
    }
    const c = r.ctx.cfg;
    const status = await shell({ timeout: '60s' })`minikube status --profile ${r.minikubeProfile} --output json`;
    const done: string[] = [];
    if (!minikubeRunning(status.stdout)) {
      await mk(r, [
        'start',
        `--driver=${c.TODO_BOOTSTRAP_MINIKUBE_DRIVER}`,
        `--cpus=${c.TODO_BOOTSTRAP_MINIKUBE_CPUS}`,
        `--memory=${c.TODO_BOOTSTRAP_MINIKUBE_MEMORY}`,
      ]);
      done.push('started');
    }
    const list = await shell({ timeout: '60s' })`minikube addons list --profile ${r.minikubeProfile} --output json`;
    for (const addon of addonsToEnable(list.stdout, minikubeAddons)) {
      await mk(r, ['addons', 'enable', addon]);
      done.push(`addon ${addon} enabled`);
    }
    return done.length
      ? { status: 'done', detail: `minikube profile ${r.minikubeProfile}: ${done.join(', ')}` }
      : {
          status: 'unchanged',
          detail: `minikube profile ${r.minikubeProfile} running, addons ${minikubeAddons.join(' and ')} enabled`,
        };
  },

  async images(r) {
    if (r.target === 'local') {
      if (!r.systemChecked) await ensureSystem(r);
      if (r.bedCreated)
        return { status: 'unchanged', detail: 'imported into the real node by the test cluster at its start' };
      const [{ ensureImages, importImages }, { paths }] = await Promise.all([
        import('../lib/local-cluster/images.ts'),
        import('../lib/local-cluster/node.ts'),
      ]);
      const imported = await importImages(paths.containerdSock, await ensureImages((m) => say(r, m)), (m) => say(r, m));
      return imported.length
        ? { status: 'done', detail: `imported ${imported.map((i) => i.ref).join(', ')}` }
        : { status: 'unchanged', detail: 'the real node has the current images' };
    }
    // Already in the node (same commit, same tag): nothing to build.
    if (r.target === 'minikube') {
      const listed = await shell({ timeout: '60s' })`minikube image ls --profile ${r.minikubeProfile}`;
      // A node without any of the app's images (a first run) needs no plan to know it must build.
      const plan = /todo-chatbot-(frontend|backend):/.test(listed.stdout)
        ? await child(r, 'scripts/build-images.ts', ['--dry-run'], { quiet: true })
        : undefined;
      const refs = Object.values((plan?.data.images ?? {}) as Record<string, string>);
      if (plan && !String(plan.data.tag).endsWith('-dirty') && imagesPresent(refs, listed.stdout)) {
        writeImages(r, plan);
        return { status: 'unchanged', detail: `already in the node: ${refs.join(', ')}` };
      }
    }
    const built = await child(r, 'scripts/build-images.ts', []);
    writeImages(r, built);
    const imgs = Object.values((built.data.images ?? {}) as Record<string, string>);
    return { status: 'done', detail: `built with ${String(built.data.builder)}: ${imgs.join(', ')}` };
  },

  async secrets(r) {
    const app = ensureLocalSecrets(r);
    const db = r.localProfile ? ensurePostgresPassword(r) : undefined;
    return db ? { status: 'done', detail: app.status === 'done' ? `${app.detail}; ${db}` : db } : app;
  },

  async deploy(r) {
    const args = [
      ...r.valuesFiles.flatMap((f) => ['-f', f]),
      ...(r.target !== 'local' && fs.existsSync(r.imagesFile) ? ['--images', r.imagesFile] : []),
    ];
    const env = await withDiagnosis(r, () => child(r, 'scripts/deploy.ts', args));
    if (env.data.unchanged)
      return { status: 'unchanged', detail: `release ${env.release} in ${env.namespace}: unchanged (no new revision)` };
    const done = env.actions.filter((a) => a.status === 'done').map((a) => `${a.what} ${a.target}`);
    return { status: 'done', detail: done.join('; ') || 'deployed' };
  },

  async verify(r) {
    const env = await withDiagnosis(r, () => child(r, 'scripts/verify.ts', []));
    return {
      status: 'done',
      detail: env.findings
        .filter((f) => f.level === 'ok')
        .map((f) => f.detail)
        .join('; '),
    };
  },

  async ai(r) {
    const withKagent = r.ctx.opts['with-kagent'];
    if (r.ctx.cfg.TODO_AI === 'off' && !withKagent) return { status: 'skipped', detail: 'TODO_AI=off' };
    const parts: string[] = [];
    let status: Outcome['status'] = 'unchanged';
    if (withKagent) {
      const k = await localKagent(r);
      parts.push(k.detail);
      if (k.changed) status = 'done';
    }
    const seen = kubectlAiFinding(r.doctor);
    const kubectlAi = seen
      ? { ok: seen.level === 'ok', detail: seen.detail, hint: seen.hint }
      : await detect('kubectl-ai').then((t) => ({
          ok: t.ok,
          detail: t.ok ? `${t.version} (${t.path})` : (t.problem ?? 'not found'),
          hint: `install: ${t.hint}`,
        }));
    r.ctx.result.finding({
      name: 'kubectl-ai',
      level: kubectlAi.ok ? 'ok' : 'info',
      detail: kubectlAi.ok ? kubectlAi.detail : `${kubectlAi.detail} (optional)`,
      ...(kubectlAi.ok ? {} : { hint: kubectlAi.hint }),
      required: false,
    });
    parts.push(`kubectl-ai ${kubectlAi.ok ? 'ready' : 'not installed (optional)'}`);
    if (withKagent || agentsConfig(r.ctx.cfg).TODO_KAGENT_ENABLED) {
      const env = await child(r, 'ops/agents.ts', ['apply']);
      const done = env.actions.filter((a) => a.status === 'done').length;
      if (done) status = 'done';
      // e.g. no key for the model: the Agents serve, but could not answer.
      for (const f of env.findings.filter((x) => x.level === 'warn'))
        r.ctx.result.finding({ ...f, name: `agents: ${f.name}`, required: false });
      const serving = ((env.data.agents ?? []) as { name: string; node?: string }[]).map(
        (a) => `${a.name} on ${a.node ?? '?'}`,
      );
      parts.push(
        `kagent agents: ${done ? `${done} change(s)` : 'unchanged'}${serving.length ? `, serving: ${serving.join(', ')}` : ''}`,
      );
    } else parts.push('kagent: off (TODO_KAGENT_ENABLED=false)');
    return { status, detail: parts.join('; ') };
  },

  async cron(r) {
    const env = await child(r, 'scripts/cron.ts', ['install']);
    const done = env.actions.filter((a) => a.status === 'done').length;
    return done
      ? { status: 'done', detail: `${done} cron change(s)` }
      : { status: 'unchanged', detail: 'cron entries already installed' };
  },

  async summary(r) {
    const ns = r.ctx.namespace;
    // The release as the children saw it: the namespace flag or the children's profile.
    const release = r.ctx.release;
    let minikubeUrl: string | undefined;
    if (r.target === 'minikube') {
      const res = await shell({
        timeout: '30s',
      })`minikube service --profile ${r.minikubeProfile} --namespace ${ns} ${`${release}-frontend`} --url`;
      minikubeUrl = res.stdout
        .split('\n')
        .map((l) => l.trim())
        .find((l) => /^https?:\/\//.test(l));
    }
    // The test cluster has no ingress controller (its values turn the Ingress off): no need to ask.
    const ingressHosts = r.target === 'local' ? [] : await ingressHostsOf(r, ns, release);
    const local = r.localProfile ? await import('../lib/local-cluster/local-target.ts') : undefined;
    // kubectl as the user can run it: on PATH, else the one the local cluster built (not on PATH).
    const kubectl = (await which('kubectl', { nothrow: true }))
      ? 'kubectl'
      : ((await toolPath('kubectl')) ?? 'kubectl');
    const access = appAccess({
      target: r.target,
      namespace: ns,
      release,
      kubeconfig: r.target === 'local' ? r.kubeconfig : undefined,
      context: local ? (givenFlags(r.ctx).context ?? local.localContext) : undefined,
      kubectl,
      minikubeUrl,
      ingressHosts,
    });
    if (local)
      access.how.push(
        `kube context ${local.localContext} (in ${r.kubeconfig ?? local.userKubeconfig()}); kubectl and helm: ${toolsCacheBin()}`,
        `PostgreSQL's data: ${local.postgresDataDir(ns, release)} (kept across deploys and cluster:down/up; delete it to start empty)`,
      );
    const next = nextCommands({
      target: r.target,
      namespace: ns,
      kubeconfig: r.target === 'local' ? r.kubeconfig : undefined,
      profile: r.target === 'local' ? (r.localProfile ? 'local' : givenFlags(r.ctx).profile) : undefined,
      context: givenFlags(r.ctx).context,
      agents: r.selected.includes('ai') && (r.ctx.opts['with-kagent'] || agentsConfig(r.ctx.cfg).TODO_KAGENT_ENABLED),
    });
    Object.assign(r.ctx.result.data, { url: access.url, access: access.how, next });
    return { status: 'done', detail: `app: ${access.url}` };
  },
};

async function ingressHostsOf(r: Run, ns: string, release: string): Promise<string[]> {
  try {
    const { Kube } = await import('../lib/kube/client.ts');
    const kube =
      r.target === 'local' || r.kubeconfig
        ? new Kube({ kubeconfig: r.kubeconfig, context: givenFlags(r.ctx).context })
        : await r.ctx.kube();
    const list = await kube.list<{ apiVersion?: string; kind?: string; spec?: { rules?: { host?: string }[] } }>(
      'networking.k8s.io/v1',
      'Ingress',
      ns,
      `app.kubernetes.io/instance=${release}`,
    );
    return list.flatMap((i) => (i.spec?.rules ?? []).map((x) => x.host).filter((h): h is string => !!h));
  } catch {
    return []; // the summary is informative: no cluster answer, no ingress line
  }
}

function writeImages(r: Run, env: Envelope): void {
  fs.mkdirSync(path.dirname(r.imagesFile), { recursive: true });
  fs.writeFileSync(r.imagesFile, JSON.stringify(env, null, 2));
}

/**
 * The app's generated secrets in the env files: a first run without
 * env/.env.local creates it (from the example) with BETTER_AUTH_SECRET and
 * DEMO_PASSWORD generated, mode 0600; a run that has them changes nothing.
 * Values are never printed.
 */
function ensureLocalSecrets(r: Run): Outcome {
  const cfg = r.ctx.cfg;
  const missing = generatedSecretKeys.filter((k) => !cfg[k]);
  if (!missing.length)
    return { status: 'unchanged', detail: `${generatedSecretKeys.join(' and ')} set (${cfg.sources.join(', ')})` };
  const file = path.join(envDir(), '.env.local');
  const existed = fs.existsSync(file);
  const example = path.join(repoRoot, 'env', '.env.local.example');
  let text = existed ? fs.readFileSync(file, 'utf8') : fs.existsSync(example) ? fs.readFileSync(example, 'utf8') : '';
  for (const k of missing) {
    const value = generateSecret();
    addSecret(value); // scrubbed from everything this run prints, children's envelopes included
    text = editEnvText(text, k, value);
  }
  fs.writeFileSync(file, text, { mode: 0o600 });
  fs.chmodSync(file, 0o600);
  const shown = path.relative(repoRoot, file).startsWith('..') ? file : path.relative(repoRoot, file);
  const detail = `${existed ? 'added to' : 'created'} ${shown} with a generated ${missing.join(' and ')} (mode 600, ignored by git; deploy puts them into the Secret)`;
  r.ctx.result.finding({ name: 'secrets', level: 'info', detail, required: false });
  return { status: 'done', detail };
}

/**
 * The local profile's part of the cluster step: its kube context merged into
 * the user's kubeconfig (and selected, as kind and minikube do), and the
 * volume over PostgreSQL's data directory for this namespace and release.
 */
async function localTarget(r: Run, cluster: Outcome): Promise<Outcome> {
  const local = await import('../lib/local-cluster/local-target.ts');
  // --kubeconfig FILE: the children read that one, so the context goes there.
  const file = r.kubeconfig ?? local.userKubeconfig();
  const before = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
  local.mergeLocalContext(file);
  const merged = fs.readFileSync(file, 'utf8') !== before;
  const vol = await local.ensureLocalVolume(r.ctx.namespace, r.ctx.release);
  const detail = `${cluster.detail}; kube context ${local.localContext} ${merged ? 'merged into' : 'in'} ${file} (current); PostgreSQL's data in ${vol.dir}${vol.changed ? ` (volume ${vol.pv} ${vol.changed})` : ''}`;
  return { status: cluster.status === 'done' || merged || vol.changed ? 'done' : 'unchanged', detail };
}

/**
 * local: PostgreSQL's password in the profile's own env file
 * (env/local.env.local), generated once: the data directory keeps the password
 * it was initialised with, so the password must outlive the cluster as well.
 * Never printed.
 */
function ensurePostgresPassword(r: Run): string | undefined {
  const key = 'POSTGRES_PASSWORD';
  if (process.env[key]) return undefined;
  const file = path.join(envDir(), 'local.env.local');
  for (const f of [file, path.join(envDir(), '.env.local')])
    if (fs.existsSync(f) && new RegExp(`^\\s*(export\\s+)?${key}\\s*=\\s*\\S`, 'm').test(fs.readFileSync(f, 'utf8')))
      return undefined;
  const existed = fs.existsSync(file);
  const value = generateSecret();
  addSecret(value);
  writeEnvKey(file, key, value);
  const detail = `${existed ? 'added to' : 'created'} ${shown(file)} with a generated ${key} (mode 600, ignored by git; kept with PostgreSQL's data)`;
  r.ctx.result.finding({ name: 'secrets', level: 'info', detail, required: false });
  return detail;
}

/**
 * --with-kagent: the real kagent on the local cluster (reused when running),
 * and where later runs find it: children get TODO_KAGENT_ENABLED and
 * TODO_KAGENT_URL now, and the local profile keeps them in env/local.env.local
 * (so `-p local ... --agent` and cron reach the same controller).
 */
async function localKagent(r: Run): Promise<{ detail: string; changed: boolean }> {
  const k = await import('../lib/local-cluster/kagent.ts');
  const running = k.kagentRunning();
  const bed = await k.kagentUp((m) => say(r, m));
  r.childEnv.TODO_KAGENT_ENABLED = 'true';
  r.childEnv.TODO_KAGENT_URL = bed.controllerUrl;
  let kept = '';
  if (r.localProfile) {
    const file = path.join(envDir(), 'local.env.local');
    const before = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
    writeEnvKey(file, 'TODO_KAGENT_ENABLED', 'true');
    writeEnvKey(file, 'TODO_KAGENT_URL', bed.controllerUrl);
    kept = `; ${fs.readFileSync(file, 'utf8') === before ? 'in' : 'recorded in'} ${shown(file)}`;
  }
  const how = running?.controllerUrl === bed.controllerUrl ? 'running' : 'started';
  return {
    detail: `kagent ${k.kagentVersion}: controller ${bed.controllerUrl} (${how})${kept}`,
    changed: how === 'started' || kept.startsWith('; recorded'),
  };
}

function dryRunLine(r: Run, step: Step): string {
  const child = (script: string, args: string[] = []) =>
    commandLine('npx zx', [script, ...args, ...r.childArgs, '--output', 'json']).replace(/^'npx zx'/, 'npx zx');
  switch (step) {
    case 'doctor':
      return child('scripts/doctor.ts');
    case 'cluster':
      return r.target === 'minikube'
        ? `minikube start --profile ${r.minikubeProfile} (unless running), minikube addons enable ${minikubeAddons.join(', ')} (unless enabled)`
        : r.target === 'local'
          ? `start the local test cluster (unless running): npm run cluster:up${r.localProfile ? "; merge its kube context todo-ops-local into your kubeconfig; the volume for PostgreSQL's data" : ''}`
          : 'use the current context';
    case 'images':
      return r.target === 'local'
        ? 'import the images into the real node (unless there)'
        : child('scripts/build-images.ts');
    case 'secrets':
      return `env/.env.local: generate BETTER_AUTH_SECRET and DEMO_PASSWORD when missing${r.localProfile ? '; env/local.env.local: POSTGRES_PASSWORD' : ''}`;
    case 'deploy':
      return child(
        'scripts/deploy.ts',
        r.valuesFiles.flatMap((f) => ['-f', path.relative(repoRoot, f)]),
      );
    case 'verify':
      return child('scripts/verify.ts');
    case 'ai':
      return r.ctx.opts['with-kagent']
        ? `kubectl-ai present?; add kagent to the local cluster (unless running)${r.localProfile ? ', TODO_KAGENT_ENABLED and TODO_KAGENT_URL in env/local.env.local' : ''}; ${child('ops/agents.ts', ['apply'])}`
        : 'kubectl-ai present?; ops/agents.ts apply when TODO_KAGENT_ENABLED';
    case 'cron':
      return child('scripts/cron.ts', ['install']);
    case 'summary':
      return 'the app URL and the next commands';
  }
}
