// debug --bundle: gathers what the archive holds (objects, events, logs of the
// failing containers, current and previous, helm values and history) and
// writes it through archive.ts, which redacts and scrubs every file.
import path from 'node:path';
import type { KubernetesObject, V1Pod } from '@kubernetes/client-node';
import { logRequests, tailLines } from '../lib/diagnose/diagnose.ts';
import type { NamespaceScan } from '../lib/diagnose/collect.ts';
import { writeBundle, yaml, type BundleFile } from './archive.ts';
import { redactEnv, redactValues } from '../lib/kit/redact.ts';
import { Exit, OpsError } from '../lib/kit/errors.ts';
import { podLogs } from '../lib/kube/logs.ts';
import type { Finding } from '../lib/kit/result.ts';
import type { DebugContext } from './spec.ts';

/** Log lines kept per container in the archive. */
const bundleLines = 500;

export async function buildBundle(
  ctx: DebugContext,
  o: { file: string; scan: NamespaceScan; findings: Finding[]; pods: V1Pod[]; now: Date },
): Promise<{ path: string; bytes: number; files: number }> {
  const kube = await ctx.kube();
  const ns = ctx.namespace;
  const files: BundleFile[] = [];
  const stamp = o.now.toISOString().replace(/[:.]/g, '').slice(0, 15);
  const root = `debug-${ns}-${stamp}`;

  // Helm first: the values it redacts are registered with the scrubber before any file is written.
  const helm = await ctx.helm();
  try {
    const [values, history] = await Promise.all([helm.getValues(ctx.release), helm.history(ctx.release)]);
    files.push(
      { path: 'helm/values.yaml', content: yaml([redactValues(values)]) },
      { path: 'helm/history.json', content: JSON.stringify(history, null, 2) + '\n' },
    );
  } catch (e) {
    if (e instanceof OpsError && e.code === Exit.unreachable) throw e;
    files.push({
      path: 'helm/unavailable.txt',
      content: `helm values and history of release ${ctx.release} could not be read: ${(e as Error).message.split('\n')[0]}\n`,
    });
  }

  for (const [kind, objs] of Object.entries(o.scan.objects ?? {})) {
    if (!objs.length) continue;
    files.push({
      path: `objects/${kind}.yaml`,
      content: yaml(objs.map((x) => redactEnv({ kind, ...(x as KubernetesObject) }))),
    });
  }
  files.push({
    path: 'events.yaml',
    content: yaml(
      o.scan.allEvents.map((e) => ({
        at: e.lastTimestamp ?? e.eventTime ?? e.metadata?.creationTimestamp,
        type: e.type,
        reason: e.reason,
        object: `${e.involvedObject.kind}/${e.involvedObject.name}`,
        count: e.count ?? 1,
        message: e.message,
      })),
    ),
  });

  // Failing containers only (bounded by --logs): their current log and, when they restarted, the previous one.
  const failing = logRequests(o.pods, ctx.opts.logs);
  const reads = failing.flatMap((r) => (r.previous ? [r, { ...r, previous: false }] : [r]));
  const logs = await Promise.all(
    reads.map(async (r) => {
      const podObject = o.pods.find((p) => p.metadata?.name === r.pod);
      const name = `logs/${r.pod}/${r.container}${r.previous ? '.previous' : ''}.log`;
      try {
        const got = await podLogs(kube, {
          namespace: ns,
          pod: r.pod,
          container: r.container,
          previous: r.previous,
          tailLines: bundleLines,
          limitBytes: 1024 * 1024,
          podObject,
        });
        return {
          path: name,
          content: got.unavailable
            ? `(unavailable: ${got.unavailable})\n`
            : tailLines(got.text, bundleLines).join('\n') + '\n',
        };
      } catch (e) {
        if (e instanceof OpsError && e.code === Exit.unreachable) throw e;
        return { path: name, content: `(unavailable: ${(e as Error).message.split('\n')[0]})\n` };
      }
    }),
  );
  files.push(...logs);
  files.push({ path: 'findings.json', content: JSON.stringify(o.findings, null, 2) + '\n' });
  files.unshift({
    path: 'README.txt',
    content: [
      `Support bundle of namespace ${ns} (release ${ctx.release}, context ${kube.contextName}), taken ${o.now.toISOString()} by scripts/debug.ts.`,
      '',
      'findings.json       what debug found, one finding per problem, with evidence and the next command',
      'objects/KIND.yaml   every object of the namespace of that kind (Secrets: keys and sizes only)',
      "events.yaml         the namespace's events",
      `logs/POD/C.log      the last ${bundleLines} lines of each failing container (.previous.log: the container before the last restart)`,
      "helm/               the release's values (secret-looking keys redacted) and history",
      '',
      'Every secret value is redacted: Secret data is never included, and every file was scrubbed of',
      "the values of the namespace's Secrets and of the configured secrets (also base64/URL-encoded).",
      '',
    ].join('\n'),
  });
  const written = await writeBundle(o.file, root, files);
  return { path: path.resolve(o.file), ...written };
}
