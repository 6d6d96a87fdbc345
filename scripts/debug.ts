#!/usr/bin/env -S npx zx
// K4: what is wrong in the namespace and what to run next. One List per kind
// (lib/debug-scan.ts), the logs of failing containers only (bounded), and a
// pure diagnosis (lib/diagnose.ts); --bundle writes a redacted support archive
// (lib/debug-bundle.ts).
import { main } from './lib/kit/cli.ts';
import { Exit, usageError } from './lib/kit/errors.ts';
import { diagnose, relatedObjects, resolveTarget } from './lib/diagnose/diagnose.ts';
import { renderDiagnosis } from './debug/view.ts';

await main({
  name: 'debug',
  summary: 'find what is wrong in the namespace and say what to run next',
  description: `Read-only. Looks at every pod, workload, Service, Ingress, HPA and volume claim of the
namespace (one List per kind) and reports one finding per problem, with its evidence and the next
command: unschedulable pods, image pull errors, crash loops and failed containers (exit code,
last termination reason and the previous container's last log lines), OOMKilled, failing probes,
missing ConfigMaps/Secrets/keys, failed pods with restartPolicy Never (Jobs, hooks), Services
selecting no pod, Ingresses to a missing Service or port, HPAs without metrics, pending volume
claims, stuck rollouts. Logs are read only for failing containers, at most --logs of them.
NAME narrows to one pod, deployment, statefulset, job or service (kind/NAME to say which).
Exit codes: 0 nothing wrong, 1 a problem was found, 2 unknown NAME or bad flag, 3 API unreachable.`,
  touches: 'reads',
  positionals: '[NAME | kind/NAME]',
  options: {
    since: { type: 'duration', default: '1h', help: 'consider warning events (probe failures, scheduling) this recent' },
    bundle: { type: 'string', arg: 'FILE', help: 'also write a support archive (tar.gz, secrets redacted) to FILE' },
    logs: { type: 'int', min: 0, max: 100, default: 10, help: 'read the logs of at most N failing containers' },
    lines: { type: 'int', min: 1, max: 1000, default: 20, help: 'last log lines kept per failing container' },
  },
  // kubectl-ai gets debug's findings (evidence and log tails included) on stdin.
  ai: {},
  examples: ['npx zx scripts/debug.ts', 'npx zx scripts/debug.ts --ai "check why the pods are failing"', 'npx zx scripts/debug.ts todo-chatbot-backend', 'npx zx scripts/debug.ts --bundle /tmp/todo-support.tar.gz', 'npx zx scripts/debug.ts -o json --since 15m'],
  async run(ctx) {
    if (ctx.positionals.length > 1) throw usageError(`debug takes at most one NAME, got ${ctx.positionals.length}: ${ctx.positionals.join(' ')}`);
    const kube = await ctx.kube();
    // Loaded here, not at the top: --help and usage errors never load the client library.
    const { fetchLogTails, scanNamespace } = await import('./lib/diagnose/collect.ts');
    const ns = ctx.namespace;
    if (!(await kube.read('v1', 'Namespace', ns))) throw usageError(`namespace "${ns}" does not exist`, `kubectl --context ${kube.contextName} get namespaces`);
    const scan = await scanNamespace(kube, ns, { full: Boolean(ctx.opts.bundle) });
    const arg = ctx.positionals[0];
    const target = arg === undefined ? undefined : resolveTarget(scan.input, arg);
    if (typeof target === 'string') throw usageError(target);
    if (arg !== undefined && !target) throw usageError(`no pod, deployment, statefulset, job or service named "${arg}" in namespace ${ns}`, `kubectl -n ${ns} get pods,deployments,services`);
    const now = new Date();
    const base = { ...scan.input, now, sinceSec: ctx.opts.since };
    const related = target ? relatedObjects(base, target) : undefined;
    const pods = related ? scan.input.pods.filter((p) => related.has(`Pod/${p.metadata?.name}`)) : scan.input.pods;
    const logs = await fetchLogTails(kube, ns, pods, { max: ctx.opts.logs, lines: ctx.opts.lines });
    let findings = diagnose({ ...base, logs: logs.tails });
    if (related) {
      findings = findings.filter((f) => f.object && related.has(`${f.object.kind}/${f.object.name}`));
      if (!findings.length) findings = [{ name: 'no problems', level: 'ok', object: { kind: target!.kind, name: target!.name, namespace: ns }, detail: `nothing wrong with ${target!.kind.toLowerCase()}/${target!.name} (${related.size - 1} related objects checked)` }];
    }
    for (const f of findings) ctx.result.finding(f);
    if (scan.unreadable.length)
      ctx.result.finding({ name: 'not readable', level: 'info', required: false, detail: `you may not list ${scan.unreadable.join(' or ')}s in ${ns}: references to them are not checked, and their values cannot be scrubbed from quoted logs`, hint: `kubectl auth can-i list secrets -n ${ns}` });
    ctx.result.data = {
      namespace: ns,
      ...(target ? { target: `${target.kind.toLowerCase()}/${target.name}` } : {}),
      requests: 1 + scan.requests + logs.requests,
      logsRead: logs.requests,
      ...(logs.skipped ? { logsSkipped: logs.skipped } : {}),
    };
    if (ctx.opts.bundle) {
      const { buildBundle } = await import('./debug/bundle.ts');
      const written = await buildBundle(ctx, { file: ctx.opts.bundle, scan, findings, pods, now });
      ctx.result.data.bundle = written;
      ctx.out.say(`support bundle: ${written.path} (${written.files} files, ${Math.ceil(written.bytes / 1024)} KiB, secret values redacted)`);
    }
    return findings.some((f) => f.level === 'fail' && f.required !== false) ? Exit.problem : Exit.ok;
  },
  render(result, ctx) {
    ctx.out.say(renderDiagnosis(result.findings, { namespace: ctx.namespace, target: result.data.target as string | undefined }));
  },
});
