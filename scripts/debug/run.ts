// debug: scan the namespace (one List per kind), read the logs of failing
// containers only (bounded), diagnose, narrow to every object named NAME (or
// the one kind/NAME says) and what relates to each;
// --bundle also writes the support archive.
import { fetchLogTails, scanNamespace } from '../lib/diagnose/collect.ts';
import { diagnose, relatedObjects, resolveTargets, targetKindsText } from '../lib/diagnose/diagnose.ts';
import { Exit, usageError, type ExitCode } from '../lib/kit/errors.ts';
import type { Finding } from '../lib/kit/result.ts';
import type { DebugContext } from './spec.ts';

export async function runDebug(ctx: DebugContext): Promise<ExitCode> {
  if (ctx.positionals.length > 1)
    throw usageError(`debug takes at most one NAME, got ${ctx.positionals.length}: ${ctx.positionals.join(' ')}`);
  const kube = await ctx.kube();
  const ns = ctx.namespace;
  if (!(await kube.read('v1', 'Namespace', ns)))
    throw usageError(`namespace "${ns}" does not exist`, `kubectl --context ${kube.contextName} get namespaces`);
  const scan = await scanNamespace(kube, ns, { full: Boolean(ctx.opts.bundle) });
  const arg = ctx.positionals[0];
  const targets = arg === undefined ? undefined : resolveTargets(scan.input, arg);
  if (typeof targets === 'string') throw usageError(targets);
  if (targets && !targets.length)
    throw usageError(
      `no ${targetKindsText} named "${arg}" in namespace ${ns}`,
      `kubectl -n ${ns} get pods,deployments,statefulsets,jobs,services,hpa,pvc`,
    );
  const now = new Date();
  const base = { ...scan.input, now, sinceSec: ctx.opts.since };
  // Each object of that name with what its problems can be about; a finding is kept when it is about any of them.
  const related = targets?.map((t) => ({ target: t, objects: relatedObjects(base, t) }));
  const union = related && new Set(related.flatMap((r) => [...r.objects]));
  const pods = union ? scan.input.pods.filter((p) => union.has(`Pod/${p.metadata?.name}`)) : scan.input.pods;
  const logs = await fetchLogTails(kube, ns, pods, { max: ctx.opts.logs, lines: ctx.opts.lines });
  let findings = diagnose({ ...base, logs: logs.tails });
  if (related) {
    const about = (objects: Set<string>, f: Finding) =>
      f.object !== undefined && objects.has(`${f.object.kind}/${f.object.name}`);
    findings = findings.filter((f) => about(union!, f));
    // One word on each object of that name that has nothing wrong, so none is passed over in silence.
    for (const { target, objects } of related)
      if (!findings.some((f) => f.level !== 'ok' && about(objects, f)))
        findings.push({
          name: 'no problems',
          level: 'ok',
          object: { kind: target.kind, name: target.name, namespace: ns },
          detail: `nothing wrong with ${target.kind.toLowerCase()}/${target.name} (${objects.size - 1} related objects checked)`,
        });
  }
  for (const f of findings) ctx.result.finding(f);
  if (scan.unreadable.length)
    ctx.result.finding({
      name: 'not readable',
      level: 'info',
      required: false,
      detail: `you may not list ${scan.unreadable.join(' or ')}s in ${ns}: references to them are not checked, and their values cannot be scrubbed from quoted logs`,
      hint: `kubectl auth can-i list secrets -n ${ns}`,
    });
  ctx.result.data = {
    namespace: ns,
    ...(targets
      ? {
          target: targets.map((t) => `${t.kind.toLowerCase()}/${t.name}`).join(', '),
          targets: targets.map((t) => `${t.kind.toLowerCase()}/${t.name}`),
        }
      : {}),
    requests: 1 + scan.requests + logs.requests,
    logsRead: logs.requests,
    ...(logs.skipped ? { logsSkipped: logs.skipped } : {}),
  };
  if (ctx.opts.bundle) {
    const { buildBundle } = await import('./bundle.ts');
    const written = await buildBundle(ctx, { file: ctx.opts.bundle, scan, findings, pods, now });
    ctx.result.data.bundle = written;
    ctx.out.say(
      `support bundle: ${written.path} (${written.files} files, ${Math.ceil(written.bytes / 1024)} KiB, secret values redacted)`,
    );
  }
  return findings.some((f) => f.level === 'fail' && f.required !== false) ? Exit.problem : Exit.ok;
}
