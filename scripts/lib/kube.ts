// Kubernetes access through @kubernetes/client-node, like kubectl: the same
// kubeconfig and contexts. Every call goes through one retry/timeout wrapper;
// waits are informer-driven (one List, then a watch), never polling loops.
import {
  ApiException,
  AppsV1Api,
  AutoscalingV2Api,
  CoreV1Api,
  KubeConfig,
  KubernetesObjectApi,
  Metrics,
  PatchStrategy,
  VersionApi,
  makeInformer,
  type KubernetesListObject,
  type KubernetesObject,
} from '@kubernetes/client-node';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Exit, OpsError } from './errors.ts';

export const fieldManager = 'todo-chatbot-ops';

export interface KubeOptions {
  context?: string;
  kubeconfig?: string;
  log?: (msg: string) => void;
  /** per request, milliseconds */
  timeoutMs?: number;
  retries?: number;
  /** server-side apply field manager; per script, e.g. todo-chatbot-ops/deploy */
  fieldManager?: string;
}

const transientCodes = new Set([429, 500, 502, 503, 504]);
const netCodes = new Set(['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'ENOTFOUND', 'EHOSTUNREACH', 'UND_ERR_SOCKET']);

function netCode(e: unknown): string | undefined {
  let cur = e as { code?: string; cause?: unknown; errno?: string } | undefined;
  for (let i = 0; cur && i < 4; i++, cur = cur.cause as typeof cur) {
    if (cur.code && netCodes.has(cur.code)) return cur.code;
    if (cur.errno && netCodes.has(cur.errno)) return cur.errno;
  }
  const m = /\b(ECONNRESET|ECONNREFUSED|ETIMEDOUT|EPIPE|EAI_AGAIN|ENOTFOUND|EHOSTUNREACH)\b/.exec(String((e as Error)?.message));
  return m?.[1];
}

export const isNotFound = (e: unknown) => e instanceof ApiException && e.code === 404;
export const isTransient = (e: unknown) => (e instanceof ApiException && transientCodes.has(e.code)) || netCode(e) !== undefined || (e as Error)?.name === 'TimeoutError';

/** The API server's message for a failed call, without the client's noise. */
export function apiMessage(e: unknown): string {
  if (e instanceof ApiException) {
    const body = typeof e.body === 'string' ? safeJson(e.body) : e.body;
    return `${e.code} ${(body as { message?: string })?.message ?? String(e.body).slice(0, 200)}`;
  }
  return (e as Error)?.message?.split('\n')[0] ?? String(e);
}
const safeJson = (s: string) => {
  try {
    return JSON.parse(s) as unknown;
  } catch {
    return { message: s };
  }
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `${group}/${version}` + kind -> REST collection path; covers the kinds the suite works with. */
const plurals: Record<string, string> = {
  Pod: 'pods', Service: 'services', Endpoints: 'endpoints', Event: 'events', Node: 'nodes', Namespace: 'namespaces',
  ConfigMap: 'configmaps', Secret: 'secrets', PersistentVolumeClaim: 'persistentvolumeclaims', ServiceAccount: 'serviceaccounts',
  Deployment: 'deployments', ReplicaSet: 'replicasets', StatefulSet: 'statefulsets', DaemonSet: 'daemonsets',
  Job: 'jobs', CronJob: 'cronjobs', HorizontalPodAutoscaler: 'horizontalpodautoscalers', PodDisruptionBudget: 'poddisruptionbudgets',
  Ingress: 'ingresses', NetworkPolicy: 'networkpolicies', EndpointSlice: 'endpointslices',
};
export function collectionPath(apiVersion: string, kind: string, namespace?: string): string {
  const plural = plurals[kind];
  if (!plural) throw new Error(`no REST path known for kind ${kind}`);
  const base = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
  return `${base}${namespace ? `/namespaces/${namespace}` : ''}/${plural}`;
}

export class Kube {
  readonly kc: KubeConfig;
  readonly contextName: string;
  private readonly opts: Required<Pick<KubeOptions, 'timeoutMs' | 'retries'>> & KubeOptions;
  private objApi?: KubernetesObjectApi;

  constructor(opts: KubeOptions = {}) {
    this.opts = { timeoutMs: 30_000, retries: 3, ...opts };
    this.kc = new KubeConfig();
    const files = (opts.kubeconfig ?? process.env.KUBECONFIG ?? path.join(os.homedir(), '.kube', 'config')).split(path.delimiter).filter(Boolean);
    // Without any kubeconfig the client falls back to http://localhost:8080; say plainly that there is no cluster instead.
    if (!files.some((f) => fs.existsSync(f)) && !process.env.KUBERNETES_SERVICE_HOST)
      throw new OpsError(`no kubeconfig found (${files.join(', ')})`, Exit.unreachable, 'start a cluster (minikube start) or pass --kubeconfig');
    try {
      if (opts.kubeconfig) this.kc.loadFromFile(opts.kubeconfig);
      else this.kc.loadFromDefault();
    } catch (e) {
      throw new OpsError(`cannot read kubeconfig: ${(e as Error).message}`, Exit.usage, 'set --kubeconfig or KUBECONFIG');
    }
    if (opts.context) {
      if (!this.kc.getContextObject(opts.context)) {
        const known = this.kc.getContexts().map((c) => c.name);
        throw new OpsError(`context "${opts.context}" not found in kubeconfig`, Exit.unreachable,
          `contexts: ${known.join(', ') || 'none'}${opts.context === 'minikube' ? '; run: minikube start' : ''}`);
      }
      this.kc.setCurrentContext(opts.context);
    }
    this.contextName = this.kc.getCurrentContext();
    if (!this.contextName || !this.kc.getCurrentCluster())
      throw new OpsError('no current kube context', Exit.unreachable, 'start a cluster (minikube start) or pass --context');
  }

  get server(): string {
    return this.kc.getCurrentCluster()?.server ?? '';
  }
  get core() {
    return this.kc.makeApiClient(CoreV1Api);
  }
  get apps() {
    return this.kc.makeApiClient(AppsV1Api);
  }
  get autoscaling() {
    return this.kc.makeApiClient(AutoscalingV2Api);
  }
  get objects(): KubernetesObjectApi {
    return (this.objApi ??= KubernetesObjectApi.makeApiClient(this.kc));
  }

  /**
   * Runs one API call with a timeout and retries with exponential backoff on
   * transient failures (429, 5xx, connection reset). A server that cannot be
   * reached at all becomes an OpsError with exit code 3.
   */
  async call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    let delay = 250;
    for (let attempt = 1; ; attempt++) {
      try {
        this.opts.log?.(`api: ${what}${attempt > 1 ? ` (attempt ${attempt})` : ''}`);
        return await withTimeout(fn(), this.opts.timeoutMs, what);
      } catch (e) {
        if (!isTransient(e) || attempt > this.opts.retries) {
          const code = netCode(e);
          if (code || (e as Error)?.name === 'TimeoutError')
            throw new OpsError(`cannot reach the Kubernetes API at ${this.server} (${code ?? 'timeout'}) during ${what}`, Exit.unreachable,
              `is the cluster running? kubectl --context ${this.contextName} cluster-info`);
          throw e;
        }
        await sleep(delay);
        delay = Math.min(delay * 2, 4000);
      }
    }
  }

  async version(): Promise<{ gitVersion: string; major: string; minor: string }> {
    return this.call('GET /version', () => this.kc.makeApiClient(VersionApi).getCode());
  }

  /** One List of a kind (the whole namespace, or the cluster when namespace is empty). */
  async list<T extends KubernetesObject>(apiVersion: string, kind: string, namespace?: string, labelSelector?: string): Promise<T[]> {
    const res = await this.call(`list ${kind}${namespace ? ` -n ${namespace}` : ''}${labelSelector ? ` -l ${labelSelector}` : ''}`, () =>
      this.objects.list<T>(apiVersion, kind, namespace, undefined, undefined, undefined, undefined, labelSelector),
    );
    return (res as KubernetesListObject<T>).items;
  }

  async read<T extends KubernetesObject>(apiVersion: string, kind: string, name: string, namespace?: string): Promise<T | undefined> {
    try {
      return await this.call(`get ${kind}/${name}`, () => this.objects.read<T>({ apiVersion, kind, metadata: { name, namespace } } as T & { metadata: { name: string } }));
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  }

  /** Server-side apply, owned by this suite's field manager. */
  async apply<T extends KubernetesObject>(obj: T, dryRun = false): Promise<T> {
    return this.call(`apply ${obj.kind}/${obj.metadata?.name}${dryRun ? ' (dry run)' : ''}`, () =>
      this.objects.patch(obj, undefined, dryRun ? 'All' : undefined, this.opts.fieldManager ?? fieldManager, true, PatchStrategy.ServerSideApply),
    );
  }

  /** A JSON merge patch (what `kubectl patch --type merge` does). */
  async mergePatch<T extends KubernetesObject>(obj: T, dryRun = false): Promise<T> {
    return this.call(`patch ${obj.kind}/${obj.metadata?.name}${dryRun ? ' (dry run)' : ''}`, () =>
      this.objects.patch(obj, undefined, dryRun ? 'All' : undefined, this.opts.fieldManager ?? fieldManager, undefined, PatchStrategy.MergePatch),
    );
  }

  async delete(obj: KubernetesObject, dryRun = false): Promise<void> {
    await this.call(`delete ${obj.kind}/${obj.metadata?.name}${dryRun ? ' (dry run)' : ''}`, () =>
      this.objects.delete(obj, undefined, dryRun ? 'All' : undefined, undefined, undefined, 'Background'),
    );
  }

  /** Sets replicas the way `kubectl scale` does (the controller then converges). */
  async scale(kind: 'Deployment' | 'StatefulSet', name: string, namespace: string, replicas: number, dryRun = false): Promise<void> {
    await this.mergePatch({ apiVersion: 'apps/v1', kind, metadata: { name, namespace }, spec: { replicas } } as KubernetesObject, dryRun);
  }

  /** Pod usage from metrics.k8s.io, or undefined when the metrics API is not served. */
  async podMetrics(namespace: string) {
    try {
      return await this.call(`list PodMetrics -n ${namespace}`, () => new Metrics(this.kc).getPodMetrics(namespace));
    } catch (e) {
      if (isNotFound(e) || (e instanceof ApiException && e.code === 503)) return undefined;
      throw e;
    }
  }

  /**
   * Waits until `done` holds for the current set of objects of a kind, using an
   * informer (one List, then a watch that keeps the cache in sync). Rejects with
   * `describe`'s view of the last state when the timeout passes.
   */
  async waitFor<T extends KubernetesObject>(opts: {
    apiVersion: string;
    kind: string;
    namespace?: string;
    labelSelector?: string;
    done: (objs: readonly T[]) => boolean;
    describe?: (objs: readonly T[]) => string;
    timeoutSec: number;
    onChange?: (objs: readonly T[]) => void;
  }): Promise<readonly T[]> {
    const path = collectionPath(opts.apiVersion, opts.kind, opts.namespace);
    const informer = makeInformer<T>(
      this.kc,
      path,
      () => this.call(`list ${opts.kind}`, () =>
        this.objects.list<T>(opts.apiVersion, opts.kind, opts.namespace, undefined, undefined, undefined, undefined, opts.labelSelector),
      ) as never,
      opts.labelSelector,
    );
    return new Promise<readonly T[]>((resolve, reject) => {
      let finished = false;
      const finish = (err?: Error) => {
        if (finished) return;
        finished = true;
        clearTimeout(timer);
        void informer.stop();
        if (err) reject(err);
        else resolve(informer.list());
      };
      const check = () => {
        const objs = informer.list();
        opts.onChange?.(objs);
        if (opts.done(objs)) finish();
      };
      const timer = setTimeout(() => {
        const state = opts.describe?.(informer.list());
        finish(new OpsError(`timed out after ${opts.timeoutSec}s waiting for ${opts.kind}${opts.labelSelector ? ` (${opts.labelSelector})` : ''}${state ? `: ${state}` : ''}`, Exit.actionFailed));
      }, opts.timeoutSec * 1000);
      for (const ev of ['add', 'update', 'delete'] as const) informer.on(ev, check);
      informer.on('connect', check);
      informer.on('error', (err: unknown) => {
        if (isTransient(err)) setTimeout(() => !finished && informer.start().catch(() => undefined), 1000); // reconnect
        else finish(err instanceof Error ? err : new Error(String(err)));
      });
      informer.start().then(check, (e: unknown) => finish(e instanceof Error ? e : new Error(String(e))));
    });
  }
}

async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const e = new Error(`${what} timed out after ${ms}ms`);
      e.name = 'TimeoutError';
      reject(e);
    }, ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
