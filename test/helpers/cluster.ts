// Helpers for tests on the real test bed: a client, a throwaway namespace,
// and PATH/KUBECONFIG for helm and kubectl.
import path from 'node:path';
import { inject } from 'vitest';
import { $ } from 'zx';
import { Kube } from '../../scripts/lib/kube/client.ts';
import { insideExec } from '../../scripts/lib/local-cluster/node.ts';

export function bedEnv(): NodeJS.ProcessEnv {
  return { ...process.env, KUBECONFIG: inject('kubeconfig'), PATH: inject('bedPath') };
}

export function kube(): Kube {
  return new Kube({ kubeconfig: inject('kubeconfig') });
}

/** zx `$` bound to the bed: kubectl/helm from the cache, the bed's kubeconfig, output captured. */
export function sh() {
  return $({ env: bedEnv(), quiet: true });
}

let counter = 0;
/** Creates a namespace unique to this test file run; delete it in afterAll. */
export async function tempNamespace(prefix: string, labels: Record<string, string> = {}): Promise<string> {
  const name = `${prefix}-${process.pid}-${++counter}`.slice(0, 63);
  await kube().apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } });
  await sh()`kubectl wait --for=create serviceaccount/default -n ${name} --timeout=60s`;
  return name;
}

export async function deleteNamespace(name: string): Promise<void> {
  await sh()`kubectl delete namespace ${name} --wait=false --ignore-not-found`;
}

/** curl from inside the bed (cluster DNS and Services answer there only); returns status, headers and body. */
export async function curl(
  url: string,
  opts: { method?: string; headers?: Record<string, string>; body?: unknown } = {},
): Promise<{ status: number; head: string; body: string }> {
  const args = ['curl', '-sS', '-m', '60', '-D', '-', '-X', opts.method ?? 'GET'];
  for (const [h, v] of Object.entries(opts.headers ?? {})) args.push('-H', `${h}: ${v}`);
  if (opts.body !== undefined)
    args.push('-H', 'content-type: application/json', '--data-binary', JSON.stringify(opts.body));
  const out = (await insideExec([...args, url], { timeout: '90s' })).stdout;
  const split = out.indexOf('\r\n\r\n');
  const head = out.slice(0, split);
  return { status: Number(/^HTTP\/[\d.]+ (\d+)/.exec(head)?.[1]), head, body: out.slice(split + 4) };
}

export const fixture = (...p: string[]) => path.resolve(import.meta.dirname, '..', 'fixtures', ...p);

type PodMetricsItems = NonNullable<Awaited<ReturnType<Kube['podMetrics']>>>['items'];

/**
 * Until the metrics API's pod list for `namespace` satisfies `done`; returns that list. The metrics API
 * cannot be watched, so this asks once a second, bounded by `timeoutSec`, and says what it last saw.
 */
export async function untilMetrics(
  namespace: string,
  what: string,
  done: (items: PodMetricsItems) => boolean,
  timeoutSec = 90,
): Promise<PodMetricsItems> {
  const deadline = Date.now() + timeoutSec * 1000;
  for (;;) {
    const items = (await kube().podMetrics(namespace))?.items ?? [];
    if (done(items)) return items;
    if (Date.now() > deadline)
      throw new Error(
        `the metrics API did not report ${what} within ${timeoutSec}s (it lists: ${items.map((m) => m.metadata.name).join(', ') || 'nothing'})`,
      );
    await new Promise((r) => setTimeout(r, 1000));
  }
}
