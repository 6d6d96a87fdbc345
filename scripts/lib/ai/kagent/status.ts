// Is kagent's controller there? doctor's "kagent controller" finding when
// the kagent layer is on (TODO_KAGENT_ENABLED or TODO_AI=kagent):
// reachable, and which version, from the controller's own GET /version. Asked
// at TODO_KAGENT_URL when set (what kagent invoke uses), else through the API
// server's Service proxy to kagent-controller:8083 in kagent's namespace.
// Never calls a model. Light on purpose: doctor imports it.
import type { Context } from '../../kit/cli.ts';
import type { Finding } from '../../kit/result.ts';
import { agentsConfig } from './settings.ts';

/** kagent's Helm install puts its controller here (kagent install, the kagent chart). */
const kagentControllerNamespace = 'kagent';
const service = 'kagent-controller:8083';

interface KagentControllerStatus {
  /** where it was asked */
  via: string;
  version?: string;
  problem?: string;
}

/** The kagent layer is on: TODO_KAGENT_ENABLED, or TODO_AI=kagent. */
export function kagentInUse(ctx: Context): boolean {
  return agentsConfig(ctx.cfg).TODO_KAGENT_ENABLED || ctx.cfg.TODO_AI === 'kagent';
}

/** Reads the controller's version (pure parsing of its /version answer). */
export function parseVersion(body: string): string | undefined {
  try {
    const v = (JSON.parse(body) as { kagent_version?: unknown }).kagent_version;
    return typeof v === 'string' && v ? v : undefined;
  } catch {
    return undefined;
  }
}

export async function kagentControllerStatus(ctx: Context): Promise<KagentControllerStatus> {
  const base = agentsConfig(ctx.cfg).TODO_KAGENT_URL;
  if (base) {
    const via = `${base.replace(/\/+$/, '')}/version`;
    try {
      const res = await fetch(via, { signal: AbortSignal.timeout(5000) });
      const body = await res.text();
      if (!res.ok) return { via, problem: `HTTP ${res.status}` };
      const version = parseVersion(body);
      return version ? { via, version } : { via, problem: 'not a kagent controller (no kagent_version)' };
    } catch (e) {
      return { via, problem: (e as Error).message };
    }
  }
  const via = `service ${kagentControllerNamespace}/${service} (API server proxy)`;
  try {
    const kube = await ctx.kube();
    const body: unknown = await kube.core.connectGetNamespacedServiceProxyWithPath({
      name: service,
      namespace: kagentControllerNamespace,
      path: 'version',
    });
    const version = parseVersion(typeof body === 'string' ? body : JSON.stringify(body));
    return version ? { via, version } : { via, problem: 'not a kagent controller (no kagent_version)' };
  } catch (e) {
    const err = e as { code?: number; message?: string };
    return { via, problem: err.code ? `HTTP ${err.code}` : (err.message ?? String(e)).split('\n')[0]! };
  }
}

/**
 * The doctor finding named "kagent controller": a warning when unreachable, since every script works without
 * kagent and the ones handed work by --agent report their own failure to reach it.
 */
export function assessKagentController(s: KagentControllerStatus, profile?: string): Finding {
  if (!s.problem)
    return {
      name: 'kagent controller',
      level: 'ok',
      detail: `reachable at ${s.via}, version ${s.version}`,
      required: false,
      evidence: { via: s.via, version: s.version ?? null, reachable: true },
    };
  return {
    name: 'kagent controller',
    level: 'warn',
    detail: `not reachable at ${s.via}: ${s.problem}`,
    // The local cluster's kagent is a process of the cluster: gone with a cluster:down, back with this (each step reuses what is there).
    hint:
      profile === 'local'
        ? 'npx zx scripts/bootstrap.ts --target local --with-kagent'
        : 'install kagent (its kagent-crds and kagent Helm charts), or set TODO_KAGENT_URL to its controller',
    required: false,
    evidence: { via: s.via, version: null, reachable: false },
  };
}
