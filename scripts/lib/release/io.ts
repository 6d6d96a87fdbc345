// The I/O deploy, scale and config share: observe the release (history, deployed
// manifest and values, the app Secret, the namespace), render the chart with the
// cluster answering its lookups, apply the app Secret through the API, wait for
// workloads with progress, and write secrets to the env file that keeps them.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import YAML from 'yaml';
import { PatchStrategy, type V1Namespace, type V1Secret } from '@kubernetes/client-node';
import type { Context } from '../kit/cli.ts';
import { defaultEnvDir, repoRoot } from '../kit/env.ts';
import { Exit, OpsError, usageError } from '../kit/errors.ts';
import { classifyHelmFailure, type HistoryEntry } from './helm.ts';
import { podLogs } from '../kube/logs.ts';
import { RolloutError, blamePod, describeProblem, rolloutState, selectorString, waitForRollout, type WorkloadKind } from '../kube/rollout.ts';
import type { V1Pod } from '@kubernetes/client-node';
import { addSecret } from '../kit/output.ts';
import { decodeSecretData, editEnvText, encodeSecretData, fingerprint, parseManifest, type Values } from './plan.ts';
import { run } from '../kit/shell.ts';

export interface Observed {
  namespace?: V1Namespace;
  secret?: V1Secret;
  liveSecret?: Record<string, string>;
  history: HistoryEntry[];
  deployed?: { manifest: string; values: Values; revision: number };
}

interface StoredRelease {
  version: number;
  info: { status: string; description?: string; last_deployed?: string };
  chart?: { metadata?: { name: string; version: string; appVersion?: string } };
  config?: Values;
  manifest?: string;
}

/** A helm release record (Secret storage): base64 of gzip of JSON, inside the Secret's base64. */
export function decodeHelmRecord(data: string): StoredRelease {
  return JSON.parse(zlib.gunzipSync(Buffer.from(Buffer.from(data, 'base64').toString('utf8'), 'base64')).toString('utf8')) as StoredRelease;
}

/**
 * The release's revisions from helm's own records (one List of its Secrets,
 * instead of three helm processes); undefined when helm keeps them elsewhere
 * (HELM_DRIVER other than secret), so the caller asks helm.
 */
export async function releaseRecords(ctx: Context<any, any>): Promise<StoredRelease[] | undefined> {
  const driver = process.env.HELM_DRIVER;
  if (driver && !/^secrets?$/.test(driver)) return undefined;
  const kube = await ctx.kube();
  const secrets = await kube.list<V1Secret>('v1', 'Secret', ctx.namespace, `owner=helm,name=${ctx.release}`);
  return secrets.map((s) => decodeHelmRecord(s.data?.release ?? '')).sort((a, b) => a.version - b.version);
}

export const historyOf = (records: StoredRelease[]): HistoryEntry[] =>
  records.map((r) => ({
    revision: r.version,
    updated: r.info.last_deployed ?? '',
    status: r.info.status,
    chart: r.chart?.metadata ? `${r.chart.metadata.name}-${r.chart.metadata.version}` : '',
    app_version: r.chart?.metadata?.appVersion ?? '',
    description: r.info.description ?? '',
  }));

/** The history, from helm's records when readable, else from helm. */
export async function releaseHistory(ctx: Context<any, any>, max = 10): Promise<HistoryEntry[]> {
  const records = await releaseRecords(ctx);
  return (records ? historyOf(records) : await (await ctx.helm()).history(ctx.release)).slice(-max);
}

/** One look at the release: namespace, app Secret, history and the latest revision's manifest and values. */
export async function observeRelease(ctx: Context<any, any>, secretName: string): Promise<Observed> {
  const kube = await ctx.kube();
  const [namespace, secret, records] = await Promise.all([
    kube.read<V1Namespace>('v1', 'Namespace', ctx.namespace),
    kube.read<V1Secret>('v1', 'Secret', secretName, ctx.namespace),
    releaseRecords(ctx),
  ]);
  const liveSecret = secret ? decodeSecretData(secret.data) : undefined;
  for (const v of Object.values(liveSecret ?? {})) addSecret(v);
  if (records) {
    const latest = records[records.length - 1];
    return { namespace, secret, liveSecret, history: historyOf(records), deployed: latest && { manifest: latest.manifest ?? '', values: latest.config ?? {}, revision: latest.version } };
  }
  const helm = await ctx.helm();
  const history = await helm.history(ctx.release);
  let deployed: Observed['deployed'];
  const latest = history[history.length - 1];
  if (latest) {
    const [manifest, values] = await Promise.all([helm.getManifest(ctx.release, latest.revision), helm.getValues(ctx.release, { revision: latest.revision })]);
    deployed = { manifest, values, revision: latest.revision };
  }
  return { namespace, secret, liveSecret, history, deployed };
}

/** doctor's verdict before any change: exit 3 when unreachable, 1 when a required check failed. */
export function requireDoctor(ctx: Context<any, any>, doctor: { unreachable: boolean }): void {
  if (doctor.unreachable) throw new OpsError(ctx.result.findings.find((f) => f.name === 'cluster')?.detail ?? 'cluster unreachable', Exit.unreachable);
  const failed = ctx.result.findings.filter((f) => f.level === 'fail' && f.required !== false);
  if (failed.length) throw new OpsError(`doctor: ${failed.map((f) => `${f.name}: ${f.detail}`).join('; ')}`, Exit.problem, failed[0]!.hint ?? 'npx zx scripts/doctor.ts');
}

/** The chart path of the profile. */
export const chartPath = (ctx: Context<any, any>) => path.resolve(repoRoot, ctx.cfg.TODO_CHART);

/** The local values overlay `config set` writes chart values to (ignored by git). */
export const overlayFile = (profile: string) => path.join(envDir(), `${profile}.values.local.yaml`);

/** The profile's values file (TODO_VALUES), then the local overlay when there is one. */
export function profileValuesFiles(ctx: Context<any, any>): string[] {
  const out: string[] = [];
  const v = ctx.cfg.TODO_VALUES;
  if (v) {
    const f = path.resolve(repoRoot, v);
    if (!fs.existsSync(f)) throw usageError(`TODO_VALUES: ${v} does not exist`);
    out.push(f);
  }
  const overlay = overlayFile(ctx.cfg.profile);
  if (fs.existsSync(overlay)) out.push(overlay);
  return out;
}

/** A values file as data; a YAML syntax error is a usage error naming the file. */
export function readValuesFile(file: string): Values {
  if (!fs.existsSync(file)) throw usageError(`values file ${file} does not exist`);
  try {
    return (YAML.parse(fs.readFileSync(file, 'utf8')) ?? {}) as Values;
  } catch (e) {
    throw usageError(`values file ${file}: ${(e as Error).message.split('\n')[0]}`);
  }
}

/**
 * `helm template` with the same values an upgrade would get, with
 * `--dry-run=server` so the chart's lookups (existing Secrets, their checksums)
 * are answered by the cluster: the result is comparable with `helm get manifest`.
 * A values schema error is a usage error (exit 2); an unreachable cluster exit 3.
 */
export async function renderRelease(ctx: Context<any, any>, o: { valuesFiles: string[]; values?: Values }): Promise<string> {
  const helm = await ctx.helm();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'todo-ops-render-'));
  try {
    const files = [...o.valuesFiles];
    if (o.values) {
      const f = path.join(dir, 'values.yaml');
      fs.writeFileSync(f, YAML.stringify(o.values), { mode: 0o600 });
      files.push(f);
    }
    const args = ['template', ctx.release, chartPath(ctx), ...files.flatMap((f) => ['--values', f]), '--dry-run=server', ...helm.scope];
    try {
      return (await run(helm.opts.bin ?? 'helm', args, {
        env: helm.opts.env,
        log: helm.opts.log,
        what: 'helm template',
        timeout: '120s',
        classify: (res) => (/don't meet the specifications of the schema|values\.schema\.json|execution error at|parse error|error converting YAML/i.test(res.stderr) ? Exit.usage : classifyHelmFailure(res)),
      })).stdout;
    } catch (e) {
      if (e instanceof OpsError && e.code === Exit.usage) throw usageError(`the chart refuses these values: ${e.message.replace(/^helm template failed \(exit \d+\): /, '')}`, 'check the values files against charts/todo-chatbot/values.schema.json');
      throw e;
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** The Deployments and StatefulSets of a manifest. */
export function workloadsOf(manifest: string): { kind: WorkloadKind; name: string; selector?: Record<string, string> }[] {
  return [...parseManifest(manifest).values()]
    .filter((o) => o.kind === 'Deployment' || o.kind === 'StatefulSet')
    .map((o) => ({ kind: o.kind as WorkloadKind, name: o.metadata.name, selector: (o.spec as { selector?: { matchLabels?: Record<string, string> } } | undefined)?.selector?.matchLabels }));
}

/** The field manager of the app Secret, shared by deploy and config (the Secret is the suite's own). */
export const secretFieldManager = 'todo-chatbot-ops/app-secret';

/**
 * Creates or updates the app Secret by server-side apply: the data travels in
 * the request body only. One field manager for every script that writes it,
 * forcing: fields another manager holds on the suite's own Secret are taken over.
 */
export async function applySecret(ctx: Context<any, any>, name: string, data: Record<string, string>, dryRun = false): Promise<void> {
  const kube = await ctx.kube();
  const obj = {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name,
      namespace: ctx.namespace,
      labels: { 'app.kubernetes.io/managed-by': 'todo-chatbot-ops', 'app.kubernetes.io/instance': ctx.release },
      annotations: { 'todo-chatbot-ops/fingerprints': Object.entries(data).map(([k, v]) => `${k}=${fingerprint(v)}`).join(',') },
    },
    type: 'Opaque',
    data: encodeSecretData(data),
  } as V1Secret;
  await kube.call(`apply Secret/${name}${dryRun ? ' (dry run)' : ''}`, () => kube.objects.patch(obj, undefined, dryRun ? 'All' : undefined, secretFieldManager, true, PatchStrategy.ServerSideApply));
}

/**
 * Waits for every workload to roll out, in parallel, printing progress lines.
 * A RolloutError gets the failing container's last log lines when the kubelet has them.
 */
export async function waitWorkloads(ctx: Context<any, any>, workloads: { kind: WorkloadKind; name: string }[], timeoutSec = ctx.timeoutSec): Promise<void> {
  const kube = await ctx.kube();
  await ctx.out.progress(`waiting for ${workloads.map((w) => `${w.kind.toLowerCase()}/${w.name}`).join(', ')}`, async () => {
    const results = await Promise.allSettled(
      workloads.map((w) => waitForRollout(kube, { ...w, namespace: ctx.namespace, timeoutSec, onProgress: (s) => !ctx.json && ctx.out.debug(s.message) })),
    );
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  });
}

/** For a crash loop: the failing container's last log lines (when the kubelet has them), as a finding. */
export async function crashLogs(ctx: Context<any, any>, err: unknown): Promise<void> {
  if (!(err instanceof RolloutError) || !err.problem || !(err.problem.reason === 'CrashLoopBackOff' || err.problem.exitCode !== undefined)) return;
  const kube = await ctx.kube();
  const logs = await podLogs(kube, { namespace: ctx.namespace, pod: err.problem.pod, container: err.problem.container, previous: true, tailLines: 10 }).catch((e: Error) => ({ text: '', unavailable: e.message }));
  const lines = logs.text ? logs.text.trim().split('\n').slice(-10) : [];
  ctx.result.finding({
    name: 'crash loop logs',
    level: 'info',
    detail: lines.length ? lines.join(' | ') : `no log lines: ${logs.unavailable ?? 'empty'}`,
    object: { kind: 'Pod', name: err.problem.pod, namespace: ctx.namespace },
    required: false,
    evidence: { lastLines: lines },
  });
}

/**
 * After a failed rollout: `helm rollback --wait` to `prev`, as its own action
 * (done or failed, timed). `before` runs first inside the action (deploy puts
 * the previous Secret back) and returns a note for the detail.
 */
export async function rollBack(ctx: Context<any, any>, prev: number, before?: () => Promise<string>): Promise<void> {
  const helm = await ctx.helm();
  const a = ctx.result.action({ what: 'helm rollback', target: `release/${ctx.release}`, reason: `the rollout failed; back to revision ${prev}`, status: 'planned' });
  const t0 = Date.now();
  try {
    const note = before ? await before() : '';
    await helm.rollback(ctx.release, prev, { wait: true, timeoutSec: ctx.timeoutSec });
    a.status = 'done';
    a.detail = `serving revision ${prev} again${note}`;
  } catch (e) {
    a.status = 'failed';
    a.detail = (e as Error).message;
  }
  a.durationMs = Date.now() - t0;
}

/** Reasons a pod will not get over by waiting. */
const settleFailures = new Set(['CrashLoopBackOff', 'ImagePullBackOff', 'ErrImagePull', 'ErrImageNeverPull', 'InvalidImageName', 'CreateContainerConfigError', 'CreateContainerError', 'RunContainerError', 'Error', 'OOMKilled']);

/**
 * After a rollout, watches the workloads' pods for `seconds`: a pod that was
 * Ready for a moment and then crashed (the rollout "succeeded" too early) fails
 * the deploy with its reason. Informer-driven; resolves when the time is up.
 */
export async function settle(ctx: Context<any, any>, workloads: { kind: WorkloadKind; name: string; selector?: Record<string, string> }[], seconds: number): Promise<void> {
  if (seconds <= 0 || !workloads.length) return;
  const kube = await ctx.kube();
  await ctx.out.progress(`watching ${workloads.map((w) => w.name).join(', ')} for ${seconds}s`, () =>
    Promise.all(
      workloads.map(
        (w) =>
          new Promise<void>((resolve, reject) => {
            let done = false;
            const finish = (e?: Error) => {
              if (done) return;
              done = true;
              clearTimeout(timer);
              inf.stop();
              if (e) reject(e);
              else resolve();
            };
            const inf = kube.informer<V1Pod>({
              apiVersion: 'v1',
              kind: 'Pod',
              namespace: ctx.namespace,
              labelSelector: selectorString({ matchLabels: w.selector }),
              onChange: () => {
                const blamed = blamePod(inf.list().filter((p) => !p.metadata?.deletionTimestamp));
                if (blamed && settleFailures.has(blamed.problem.reason)) {
                  const state = { ...rolloutState(w.kind, { metadata: { name: w.name } }), done: false };
                  finish(new RolloutError(`${w.kind.toLowerCase()}/${w.name} failed after its rollout; ${describeProblem(blamed.problem)}`, state, blamed.problem, `kubectl -n ${ctx.namespace} logs ${blamed.problem.pod} --previous`));
                }
              },
              onError: finish,
            });
            const timer = setTimeout(() => finish(), seconds * 1000);
            inf.start().catch((e: Error) => finish(e));
          }),
      ),
    ).then(() => undefined),
  );
}

/** The env directory (TODO_ENV_DIR or env/). */
export const envDir = () => process.env.TODO_ENV_DIR ?? defaultEnvDir;

/**
 * The file that keeps a secret for this profile: the local file that already
 * sets it (the last one wins, as when loading), else <envDir>/.env.local.
 * Never the committed profile file.
 */
export function secretsFileFor(profile: string, key: string): string {
  const dir = envDir();
  const candidates = [path.join(dir, `${profile}.env.local`), path.join(dir, '.env.local')];
  for (const f of candidates) if (fs.existsSync(f) && new RegExp(`^\\s*(export\\s+)?${key}\\s*=`, 'm').test(fs.readFileSync(f, 'utf8'))) return f;
  return path.join(dir, '.env.local');
}

/** Sets (or removes) KEY in an env file, private (0600), keeping every other line. */
export function writeEnvKey(file: string, key: string, value: string | undefined): void {
  const text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, editEnvText(text, key, value), { mode: 0o600 });
  fs.chmodSync(file, 0o600);
}

/** A path as the user would type it: relative to the repo when inside it. */
export const shown = (file: string) => {
  const rel = path.relative(repoRoot, file);
  return rel.startsWith('..') ? file : rel;
};

export { Exit, OpsError };
