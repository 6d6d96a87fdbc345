// alert (A6): evaluate the rules over the namespace's findings and the
// release's state, step the stored alerts (state.ts), send what is due
// through the notifier and/or stdout, keep the state for the next run. Also
// `silence`/`unsilence`/`status`: the stored silences and alerts.
import type { V1Service } from '@kubernetes/client-node';
import { probeApp, probeFinding, probeTargets } from '../../scripts/lib/app/probe.ts';
import { evaluateRules, type BackupRecord, type ForecastsDoc, type RestartSamples } from './rules.ts';
import { emptyDoc, stepAlerts, type AlertsDoc, type Notice } from './state.ts';
import { alertArgs, type AlertContext } from './spec.ts';
import { scanNamespace } from '../../scripts/lib/diagnose/collect.ts';
import { diagnose } from '../../scripts/lib/diagnose/diagnose.ts';
import type { Finding } from '../../scripts/lib/kit/result.ts';
import { releaseDrift } from '../../scripts/lib/release/drift.ts';
import { observeRelease } from '../../scripts/lib/release/history.ts';
import { appSecretName } from '../../scripts/lib/release/secrets.ts';

export const alertsDoc = 'alerts';
const samplesDoc = 'alert-restarts';

export async function runAlert(ctx: AlertContext): Promise<void> {
  const { cmd, match } = alertArgs(ctx);
  const opts = ctx.opts;
  const state = await ctx.state();
  const doc = state.readJson<AlertsDoc>(alertsDoc) ?? emptyDoc();
  const now = new Date();
  if (cmd === 'silence') {
    const s = {
      match: match!,
      until: new Date(now.getTime() + opts.for! * 1000).toISOString(),
      created: now.toISOString(),
      ...(opts.comment ? { comment: opts.comment } : {}),
    };
    doc.silences = [...doc.silences.filter((x) => x.match !== match), s];
    state.writeJson(alertsDoc, doc);
    ctx.result.finding({ name: 'silence', level: 'ok', detail: `${match} silenced until ${s.until}` });
    ctx.result.data = { silence: s };
    return;
  }
  if (cmd === 'unsilence') {
    const before = doc.silences.length;
    doc.silences = doc.silences.filter((x) => x.match !== match);
    state.writeJson(alertsDoc, doc);
    ctx.result.finding({
      name: 'silence',
      level: 'ok',
      detail: before === doc.silences.length ? `no silence for ${match}` : `silence for ${match} removed`,
    });
    return;
  }
  if (cmd === 'status') {
    ctx.result.data = { alerts: Object.values(doc.alerts), silences: doc.silences };
    if (!Object.values(doc.alerts).some((a) => a.state === 'firing'))
      ctx.result.finding({
        name: 'alerts',
        level: 'ok',
        detail: `no alert firing (${ctx.cfg.TODO_ALERT_RULES.length} rules checked${Object.keys(doc.alerts).length ? `, ${Object.keys(doc.alerts).length} pending` : ''})`,
      });
    // As when the rules run: a firing alert that is not silenced makes the exit code 1.
    const silenced = (a: { rule: string; key: string }) =>
      doc.silences.some((x) => (x.match === a.rule || x.match === a.key) && Date.parse(x.until) > now.getTime());
    for (const a of Object.values(doc.alerts))
      ctx.result.finding({
        name: a.rule,
        level: a.state === 'firing' ? 'fail' : 'warn',
        detail: `${a.state}${silenced(a) ? ' (silenced)' : ''}: ${a.summary} (since ${a.since})`,
        required: a.state === 'firing' && !silenced(a),
      });
    return;
  }
  await evaluate(ctx, doc, now);
}

async function evaluate(ctx: AlertContext, doc: AlertsDoc, now: Date): Promise<void> {
  const cfg = ctx.cfg;
  const rules = cfg.TODO_ALERT_RULES;
  const state = await ctx.state();
  const kube = await ctx.kube();
  const scan = await scanNamespace(kube, ctx.namespace, { full: false });
  const findings = diagnose({ ...scan.input, now, sinceSec: 600 });
  let readyz: Finding | undefined;
  const backend = probeTargets(scan.input.services as V1Service[], ctx.release).find((t) => t.component === 'backend');
  if (rules.includes('readyz') && backend && scan.input.services.some((s) => s.metadata?.name === backend.service)) {
    const [answer] = await probeApp(kube, ctx.namespace, [backend]);
    readyz = probeFinding(answer!.target, answer!.outcome, ctx.namespace);
  }
  const backups = state.streams().includes('backup')
    ? (state.history<BackupRecord>('backup', { limit: 500 }) as BackupRecord[])
    : undefined;
  const forecasts = state.readJson<ForecastsDoc>('forecasts');
  // The release's live objects against its latest deployed revision: a read and a dry-run apply per object.
  let drift: Awaited<ReturnType<typeof releaseDrift>> | undefined;
  if (rules.includes('release-drift')) {
    const deployed = await observeRelease(ctx, appSecretName(ctx.release));
    if (deployed.deployed && deployed.history.at(-1)?.status === 'deployed')
      drift = await releaseDrift(ctx, deployed.deployed.manifest);
  }
  const outcome = evaluateRules(
    {
      now,
      namespace: ctx.namespace,
      findings,
      pods: scan.input.pods,
      deployments: scan.input.deployments,
      statefulSets: scan.input.statefulSets,
      readyz,
      backups,
      forecasts,
      restartSamples: state.readJson<RestartSamples>(samplesDoc) ?? {},
      services: scan.input.services as V1Service[],
      drift: drift?.items,
      release: ctx.release,
    },
    {
      rules,
      restartsThreshold: cfg.TODO_ALERT_RESTARTS,
      restartsWindowSec: cfg.TODO_ALERT_RESTARTS_WINDOW,
      backupMaxAgeSec: cfg.TODO_ALERT_BACKUP_MAX_AGE,
    },
  );
  const step = stepAlerts(doc, outcome.conditions, now, {
    forSec: cfg.TODO_ALERT_FOR,
    repeatSec: cfg.TODO_ALERT_REPEAT,
    heartbeatSec: cfg.TODO_ALERT_HEARTBEAT,
  });
  const failed = await deliver(ctx, step.notices);
  // A notice that did not go out is due again next run.
  for (const n of failed) {
    const a = step.doc.alerts[n.key];
    if (a && (n.kind === 'firing' || n.kind === 'repeat')) a.notifiedAt = doc.alerts[n.key]?.notifiedAt;
    if (n.kind === 'resolved' && doc.alerts[n.key]) step.doc.alerts[n.key] = doc.alerts[n.key]!; // still to be told
    if (n.kind === 'heartbeat') step.doc.lastHeartbeat = doc.lastHeartbeat;
  }
  state.writeJson(alertsDoc, step.doc);
  state.writeJson(samplesDoc, outcome.restartSamples);
  for (const n of step.notices)
    state.append('alert', { kind: n.kind, key: n.key, title: n.title, delivered: !failed.includes(n) });

  const nowMs = now.getTime();
  for (const a of Object.values(step.doc.alerts)) {
    const silenced =
      step.silenced.includes(a.key) || step.doc.silences.some((s) => s.match === a.key || s.match === a.rule);
    const forSec = cfg.TODO_ALERT_FOR[a.rule] ?? 0;
    ctx.result.finding({
      name: `alert ${a.rule}`,
      level: a.state === 'firing' && !silenced ? a.level : a.state === 'firing' ? 'info' : 'warn',
      ...(a.state === 'firing' && !silenced ? {} : { required: false }),
      detail:
        a.state === 'firing'
          ? `${silenced ? 'firing (silenced)' : 'firing'}: ${a.summary}`
          : `pending ${Math.round((nowMs - Date.parse(a.since)) / 1000)}s of ${forSec}s: ${a.summary}`,
      evidence: {
        key: a.key,
        state: a.state,
        since: a.since,
        ...(a.firingSince ? { firingSince: a.firingSince } : {}),
        ...(silenced ? { silenced: true } : {}),
      },
    });
  }
  const firing = Object.values(step.doc.alerts).filter((a) => a.state === 'firing').length;
  if (!firing)
    ctx.result.finding({
      name: 'alerts',
      level: 'ok',
      detail: `no alert firing (${rules.length} rules checked${Object.keys(step.doc.alerts).length ? `, ${Object.keys(step.doc.alerts).length} pending` : ''})`,
    });
  for (const r of outcome.inactive)
    ctx.result.finding({ name: `rule ${r.rule}`, level: 'info', detail: `inactive: ${r.why}` });
  for (const s of step.expiredSilences)
    ctx.result.finding({ name: 'silence', level: 'info', detail: `the silence of ${s.match} expired at ${s.until}` });
  ctx.result.data = {
    notices: step.notices.map((n) => ({ kind: n.kind, key: n.key, title: n.title, delivered: !failed.includes(n) })),
    firing: Object.values(step.doc.alerts)
      .filter((a) => a.state === 'firing')
      .map((a) => a.key),
    pending: Object.values(step.doc.alerts)
      .filter((a) => a.state === 'pending')
      .map((a) => a.key),
    silenced: step.silenced,
    requests: scan.requests + (drift?.requests ?? 0),
  };
  if (ctx.opts.agent) {
    const { handToAgent } = await import('../../scripts/lib/ai/kagent/invoke.ts');
    const fresh = step.notices.filter((n) => n.kind === 'firing').map((n) => `${n.title}: ${n.text.split('\n')[0]}`);
    await handToAgent(ctx, 'TODO_KAGENT_ALERT_AGENT', fresh);
  }
}

/** Sends each notice to stdout and the webhook; returns the ones the webhook did not take. */
async function deliver(ctx: AlertContext, notices: Notice[]): Promise<Notice[]> {
  if (!notices.length) return [];
  const notifier = await ctx.notifier();
  const failed: Notice[] = [];
  for (const n of notices) {
    if (ctx.cfg.TODO_ALERT_STDOUT && !ctx.json)
      ctx.out.say(`${n.title}${n.text ? `\n  ${n.text.split('\n').join('\n  ')}` : ''}`);
    try {
      await notifier.send({
        title: n.title,
        text: n.text,
        level: n.level,
        script: 'alert',
        namespace: ctx.namespace,
        release: ctx.release,
        context: ctx.context || undefined,
        fields: { kind: n.kind, alert: n.key },
      });
    } catch (e) {
      failed.push(n);
      ctx.result.finding({
        name: 'notification',
        level: 'fail',
        detail: `could not send "${n.title}": ${(e as Error).message}`,
        hint: 'check TODO_WEBHOOK_URL; it is sent again on the next run',
      });
    }
  }
  return failed;
}
