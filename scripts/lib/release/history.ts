// What is deployed: helm's own release records (read from its Secrets, else
// asked of helm), the history, and one look at the release before a change
// (namespace, app Secret, latest manifest and values).
import zlib from 'node:zlib';
import type { V1Namespace, V1Secret } from '@kubernetes/client-node';
import type { Context } from '../kit/cli.ts';
import { addSecret } from '../kit/output.ts';
import type { HistoryEntry } from './helm.ts';
import { decodeSecretData } from './secrets.ts';
import type { Values } from './values.ts';

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
  return JSON.parse(
    zlib.gunzipSync(Buffer.from(Buffer.from(data, 'base64').toString('utf8'), 'base64')).toString('utf8'),
  ) as StoredRelease;
}

/**
 * The release's revisions from helm's own records (one List of its Secrets,
 * instead of three helm processes); undefined when helm keeps them elsewhere
 * (HELM_DRIVER other than secret), so the caller asks helm.
 */
async function releaseRecords(ctx: Context): Promise<StoredRelease[] | undefined> {
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
export async function releaseHistory(ctx: Context, max = 10): Promise<HistoryEntry[]> {
  const records = await releaseRecords(ctx);
  return (records ? historyOf(records) : await (await ctx.helm()).history(ctx.release)).slice(-max);
}

/** One look at the release: namespace, app Secret, history and the latest revision's manifest and values. */
export async function observeRelease(ctx: Context, secretName: string): Promise<Observed> {
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
    return {
      namespace,
      secret,
      liveSecret,
      history: historyOf(records),
      deployed: latest && { manifest: latest.manifest ?? '', values: latest.config ?? {}, revision: latest.version },
    };
  }
  const helm = await ctx.helm();
  const history = await helm.history(ctx.release);
  let deployed: Observed['deployed'];
  const latest = history[history.length - 1];
  if (latest) {
    const [manifest, values] = await Promise.all([
      helm.getManifest(ctx.release, latest.revision),
      helm.getValues(ctx.release, { revision: latest.revision }),
    ]);
    deployed = { manifest, values, revision: latest.revision };
  }
  return { namespace, secret, liveSecret, history, deployed };
}
