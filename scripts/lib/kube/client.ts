// Kubernetes access through @kubernetes/client-node, like kubectl: the same
// kubeconfig and contexts. Every call goes through one retry/timeout wrapper;
// waits are informer-driven (one List, then a watch), never polling loops.
import type { CoreV1Event, KubernetesListObject, KubernetesObject } from '@kubernetes/client-node';
import {
  ApiException,
  AppsV1Api,
  AutoscalingV2Api,
  CoreV1Api,
  KubeConfig,
  KubernetesObjectApi,
  ListWatch,
  Metrics,
  PatchStrategy,
  VersionApi,
  Watch,
  fetch,
} from './k8s.ts';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Exit, OpsError } from '../kit/errors.ts';
import {
  applyConflicts,
  collectionPath,
  describeArgs,
  isNotFound,
  isTransient,
  netCode,
  sleep,
  sortEvents,
  withTimeout,
} from './api.ts';
import { watchUntil } from './watch.ts';

// Callers import these from here, as before the split.

const fieldManager = 'todo-chatbot-ops';

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

/** What brings back a context the suite's targets make (the local one: bootstrap merges it, cluster:down removes it). */
const startHint: Record<string, string> = {
  minikube: 'minikube start',
  'todo-ops-local': 'npx zx scripts/bootstrap.ts --target local',
};

export class Kube {
  readonly kc: KubeConfig;
  readonly contextName: string;
  private readonly opts: Required<Pick<KubeOptions, 'timeoutMs' | 'retries'>> & KubeOptions;
  private objApi?: KubernetesObjectApi;
  private readonly apis = new Map<string, object>();

  constructor(opts: KubeOptions = {}) {
    this.opts = { timeoutMs: 30_000, retries: 3, ...opts };
    this.kc = new KubeConfig();
    const files = (opts.kubeconfig ?? process.env.KUBECONFIG ?? path.join(os.homedir(), '.kube', 'config'))
      .split(path.delimiter)
      .filter(Boolean);
    // Without any kubeconfig the client falls back to http://localhost:8080; say plainly that there is no cluster instead.
    if (!files.some((f) => fs.existsSync(f)) && !process.env.KUBERNETES_SERVICE_HOST)
      throw new OpsError(
        `no kubeconfig found (${files.join(', ')})`,
        Exit.unreachable,
        'start a cluster (minikube start) or pass --kubeconfig',
      );
    try {
      if (opts.kubeconfig) this.kc.loadFromFile(opts.kubeconfig);
      else this.kc.loadFromDefault();
    } catch (e) {
      throw new OpsError(
        `cannot read kubeconfig: ${(e as Error).message}`,
        Exit.usage,
        'set --kubeconfig or KUBECONFIG',
      );
    }
    if (opts.context) {
      if (!this.kc.getContextObject(opts.context)) {
        const known = this.kc.getContexts().map((c) => c.name);
        throw new OpsError(
          `context "${opts.context}" not found in kubeconfig`,
          Exit.unreachable,
          `contexts: ${known.join(', ') || 'none'}${startHint[opts.context] ? `; run: ${startHint[opts.context]}` : ''}`,
        );
      }
      this.kc.setCurrentContext(opts.context);
    }
    this.contextName = this.kc.getCurrentContext();
    if (!this.contextName || !this.kc.getCurrentCluster())
      throw new OpsError(
        'no current kube context',
        Exit.unreachable,
        'start a cluster (minikube start) or pass --context',
      );
  }

  /** A --verbose line through this client's log, for helpers built on it. */
  debug(msg: string): void {
    this.opts.log?.(msg);
  }

  get server(): string {
    return this.kc.getCurrentCluster()?.server ?? '';
  }
  /**
   * The typed APIs of client-node, wrapped so that every method goes through
   * call(): same retries, timeout and exit-3 mapping as the rest of this class.
   * `k.core.readNamespacedConfigMap({...})` reads as the raw client would.
   */
  get core(): CoreV1Api {
    return this.typedApi('core', CoreV1Api);
  }
  get apps(): AppsV1Api {
    return this.typedApi('apps', AppsV1Api);
  }
  get autoscaling(): AutoscalingV2Api {
    return this.typedApi('autoscaling', AutoscalingV2Api);
  }
  private typedApi<T extends object>(name: string, ctor: new (...args: never[]) => T): T {
    const cached = this.apis.get(name);
    if (cached) return cached as T;
    const raw = this.kc.makeApiClient(ctor as never) as T;
    const wrapped = new Proxy(raw, {
      get: (target, prop, receiver) => {
        const v = Reflect.get(target, prop, receiver) as unknown;
        if (typeof v !== 'function' || typeof prop !== 'string') return v;
        return (...args: unknown[]) =>
          this.call(`${name}.${prop}${describeArgs(args[0])}`, () =>
            (v as (...a: unknown[]) => Promise<unknown>).apply(target, args),
          );
      },
    });
    this.apis.set(name, wrapped);
    return wrapped;
  }
  /**
   * The raw generic client, without retries: this class's methods call it
   * inside call(). A script that needs it directly wraps it the same way:
   * `kube.call('what', () => kube.objects.replace(obj))`.
   */
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
            throw new OpsError(
              `cannot reach the Kubernetes API at ${this.server} (${code ?? 'timeout'}) during ${what}`,
              Exit.unreachable,
              `is the cluster running? kubectl --context ${this.contextName} cluster-info`,
            );
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
  async list<T extends KubernetesObject>(
    apiVersion: string,
    kind: string,
    namespace?: string,
    labelSelector?: string,
  ): Promise<T[]> {
    const res = await this.call(
      `list ${kind}${namespace ? ` -n ${namespace}` : ''}${labelSelector ? ` -l ${labelSelector}` : ''}`,
      () =>
        this.objects.list<T>(apiVersion, kind, namespace, undefined, undefined, undefined, undefined, labelSelector),
    );
    return (res as KubernetesListObject<T>).items;
  }

  /**
   * One page of a List as plain JSON, without the client's model classes: a scan
   * of thousands of pods then costs the parse, not a typed copy of each object.
   */
  async listPage<T>(
    apiVersion: string,
    kind: string,
    namespace: string | undefined,
    o: { labelSelector?: string; fieldSelector?: string; limit?: number; continue?: string } = {},
  ): Promise<{ items: T[]; continue?: string }> {
    const url = new URL(this.server.replace(/\/+$/, '') + collectionPath(apiVersion, kind, namespace));
    if (o.labelSelector) url.searchParams.set('labelSelector', o.labelSelector);
    if (o.fieldSelector) url.searchParams.set('fieldSelector', o.fieldSelector);
    if (o.limit) url.searchParams.set('limit', String(o.limit));
    if (o.continue) url.searchParams.set('continue', o.continue);
    const what = `list ${kind}${namespace ? ` -n ${namespace}` : ''}${o.labelSelector ? ` -l ${o.labelSelector}` : ''}${o.continue ? ' (next page)' : ''}`;
    return this.call(what, async () => {
      const init = await this.kc.applyToFetchOptions({ method: 'GET' });
      const res = await fetch(url.toString(), init);
      const text = await res.text();
      if (!res.ok) throw new ApiException(res.status, `${what}: HTTP ${res.status}`, text, {});
      const list = JSON.parse(text) as { items?: T[]; metadata?: { continue?: string } };
      return { items: list.items ?? [], ...(list.metadata?.continue ? { continue: list.metadata.continue } : {}) };
    });
  }

  async read<T extends KubernetesObject>(
    apiVersion: string,
    kind: string,
    name: string,
    namespace?: string,
  ): Promise<T | undefined> {
    try {
      return await this.call(`get ${kind}/${name}`, () =>
        this.objects.read<T>({ apiVersion, kind, metadata: { name, namespace } } as T & { metadata: { name: string } }),
      );
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  }

  /** The field manager this client applies as: todo-chatbot-ops/<script> when run by a script. */
  get fieldManager(): string {
    return this.opts.fieldManager ?? fieldManager;
  }

  /**
   * Server-side apply as this client's field manager. Without `force`, fields
   * another manager owns (helm, kubectl, a controller) are not taken over: the
   * API server's 409 becomes an OpsError (exit 4) naming the fields and their
   * manager. `force: true` is `kubectl apply --server-side --force-conflicts`:
   * pass it deliberately. A boolean second argument is `dryRun` (older callers).
   */
  async apply<T extends KubernetesObject>(obj: T, opts: ApplyOptions | boolean = {}): Promise<T> {
    const { dryRun = false, force = false } = typeof opts === 'boolean' ? { dryRun: opts } : opts;
    const what = `apply ${obj.kind}/${obj.metadata?.name}${dryRun ? ' (dry run)' : ''}${force ? ' (force)' : ''}`;
    try {
      return await this.call(what, () =>
        this.objects.patch(
          obj,
          undefined,
          dryRun ? 'All' : undefined,
          this.fieldManager,
          force,
          PatchStrategy.ServerSideApply,
        ),
      );
    } catch (e) {
      const conflicts = applyConflicts(e);
      if (!conflicts) throw e;
      const managers = [...new Set(conflicts.map((c) => c.manager))];
      const target = `${obj.kind}/${obj.metadata?.name}${obj.metadata?.namespace ? ` -n ${obj.metadata.namespace}` : ''}`;
      throw new OpsError(
        `apply ${target} as ${this.fieldManager} conflicts with ${managers.map((m) => `"${m}"`).join(', ')}: ${conflicts.map((c) => `${c.field} (owned by ${c.manager})`).join(', ')}`,
        Exit.actionFailed,
        `those fields belong to ${managers.join(', ')}${managers.includes('helm') ? ': change them through helm values' : ''}; to take them over, apply with force: true (like kubectl apply --server-side --force-conflicts)`,
      );
    }
  }

  /**
   * Events about one object, newest first: one List with a field selector on
   * the involved object's kind and name (and uid when known, so a deleted and
   * recreated object's old events are left out). Objects from a List carry
   * no kind: set it (`{ ...pod, kind: 'Pod' }`).
   */
  async events(obj: {
    kind?: string;
    metadata?: { name?: string; namespace?: string; uid?: string };
  }): Promise<CoreV1Event[]> {
    const name = obj.metadata?.name;
    if (!name || !obj.kind) throw new Error('events: the object needs a kind and a name');
    const ns = obj.metadata?.namespace;
    const fields = [
      `involvedObject.kind=${obj.kind}`,
      `involvedObject.name=${name}`,
      ...(obj.metadata?.uid ? [`involvedObject.uid=${obj.metadata.uid}`] : []),
    ];
    const res = await this.call(`list Event ${obj.kind}/${name}${ns ? ` -n ${ns}` : ''}`, () =>
      this.objects.list<CoreV1Event>('v1', 'Event', ns, undefined, undefined, undefined, fields.join(',')),
    );
    return sortEvents((res as KubernetesListObject<CoreV1Event>).items);
  }

  /** A JSON merge patch (what `kubectl patch --type merge` does). */
  async mergePatch<T extends KubernetesObject>(obj: T, dryRun = false): Promise<T> {
    return this.call(`patch ${obj.kind}/${obj.metadata?.name}${dryRun ? ' (dry run)' : ''}`, () =>
      this.objects.patch(
        obj,
        undefined,
        dryRun ? 'All' : undefined,
        this.fieldManager,
        undefined,
        PatchStrategy.MergePatch,
      ),
    );
  }

  /** gracePeriodSeconds 0 is `kubectl delete --grace-period=0 --force` (a pod its kubelet never finishes). */
  async delete(obj: KubernetesObject, dryRun = false, o: { gracePeriodSeconds?: number } = {}): Promise<void> {
    await this.call(
      `delete ${obj.kind}/${obj.metadata?.name}${o.gracePeriodSeconds !== undefined ? ` (grace period ${o.gracePeriodSeconds}s)` : ''}${dryRun ? ' (dry run)' : ''}`,
      () =>
        this.objects.delete(obj, undefined, dryRun ? 'All' : undefined, o.gracePeriodSeconds, undefined, 'Background'),
    );
  }

  /** Sets replicas the way `kubectl scale` does (the controller then converges). */
  async scale(
    kind: 'Deployment' | 'StatefulSet',
    name: string,
    namespace: string,
    replicas: number,
    dryRun = false,
  ): Promise<void> {
    await this.mergePatch(
      { apiVersion: 'apps/v1', kind, metadata: { name, namespace }, spec: { replicas } } as KubernetesObject,
      dryRun,
    );
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
   * A cache of one kind kept in sync by one List (through call()) and then a
   * watch; a watch dropped by a transient error resumes from the last
   * resourceVersion. `onChange` runs after the List and after every event.
   */
  informer<T extends KubernetesObject>(opts: InformerOptions): Informed<T> {
    const path = collectionPath(opts.apiVersion, opts.kind, opts.namespace);
    const what = `list ${opts.kind}${opts.namespace ? ` -n ${opts.namespace}` : ''}${opts.labelSelector ? ` -l ${opts.labelSelector}` : ''}${opts.fieldSelector ? ` --field-selector ${opts.fieldSelector}` : ''}`;
    const lw = new ListWatch<T>(
      path,
      new Watch(this.kc),
      () =>
        this.call(what, () =>
          this.objects.list<T>(
            opts.apiVersion,
            opts.kind,
            opts.namespace,
            undefined,
            undefined,
            undefined,
            opts.fieldSelector,
            opts.labelSelector,
          ),
        ),
      false,
      opts.labelSelector,
      opts.fieldSelector,
    );
    let stopped = false;
    let listed = false;
    const changed = () => listed && !stopped && opts.onChange?.();
    for (const ev of ['add', 'update', 'delete'] as const) lw.on(ev, changed);
    lw.on('error', (err: unknown) => {
      if (stopped) return;
      const e = err instanceof Error ? err : new Error(String(err));
      // A List that call() already gave up on (retries spent, API unreachable: exit 3) ends a wait; a long-running
      // watch that asked for onUnreachable is told and keeps trying, for as long as it runs.
      const lost =
        opts.onUnreachable !== undefined &&
        (err instanceof OpsError ? err.code === Exit.unreachable : isTransient(err));
      if (lost) opts.onUnreachable!(e);
      if (lost || (isTransient(err) && !(err instanceof OpsError)))
        setTimeout(() => !stopped && lw.start().catch(() => undefined), 1000);
      else opts.onError?.(e);
    });
    return {
      list: () => lw.list(),
      start: async () => {
        await lw.start();
        listed = true;
        changed();
      },
      stop: () => {
        stopped = true;
        void lw.stop();
      },
    };
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
    fieldSelector?: string;
    done: (objs: readonly T[]) => boolean;
    describe?: (objs: readonly T[]) => string;
    timeoutSec: number;
    onChange?: (objs: readonly T[]) => void;
  }): Promise<readonly T[]> {
    const { done, describe, timeoutSec, onChange, ...watched } = opts;
    return watchUntil<T, readonly T[]>(this, {
      ...watched,
      timeoutSec,
      until: (objs) => {
        onChange?.(objs);
        return done(objs) ? objs : undefined;
      },
      onTimeout: (objs) => {
        const state = describe?.(objs);
        return new OpsError(
          `timed out after ${timeoutSec}s waiting for ${opts.kind}${opts.labelSelector ? ` (${opts.labelSelector})` : ''}${state ? `: ${state}` : ''}`,
          Exit.actionFailed,
        );
      },
    });
  }
}

export interface InformerOptions {
  apiVersion: string;
  kind: string;
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  onChange?: () => void;
  /** a watch failure that is not transient; the informer has stopped */
  onError?: (e: Error) => void;
  /** when set, losing the API server does not stop the informer: it is reported here and the informer retries */
  onUnreachable?: (e: Error) => void;
}
export interface Informed<T> {
  list(): readonly T[];
  /** resolves once the first List is in the cache and the watch is open */
  start(): Promise<void>;
  stop(): void;
}

export interface ApplyOptions {
  /** server-side dry run: validated and defaulted, nothing stored */
  dryRun?: boolean;
  /** take conflicting fields over from their manager (kubectl --force-conflicts) */
  force?: boolean;
}
