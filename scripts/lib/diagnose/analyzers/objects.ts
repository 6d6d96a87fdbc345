// debug's analyzers for everything but pods, one per kind as k8sgpt has them:
// a stuck rollout, a Service that selects no pod, an Ingress to a Service or
// port that is not there, an HPA without metrics, a claim that is not bound.
// Each returns its findings, [] when the kind is fine.
import type { V1Pod } from '@kubernetes/client-node';
import type { Finding } from '../../kit/result.ts';
import { blamePod, selectorString } from '../../kube/rollout.ts';
import type { Scope } from '../input.ts';
import { eventTime, oneLine, podName, ref } from '../read.ts';
import { selects } from '../refs.ts';

type ObjectAnalyzer = (s: Scope) => Finding[];

const rollouts: ObjectAnalyzer = ({ input, ns, live }) => {
  const out: Finding[] = [];
  for (const d of input.deployments) {
    const name = d.metadata?.name ?? '?';
    const conds = d.status?.conditions ?? [];
    const progressing = conds.find((c) => c.type === 'Progressing');
    const failure = conds.find((c) => c.type === 'ReplicaFailure' && c.status === 'True');
    const sel = d.spec?.selector?.matchLabels ?? {};
    const pods = live.filter((p) => selects(sel, p.metadata?.labels));
    if (progressing?.reason === 'ProgressDeadlineExceeded') {
      const blamed = blamePod(pods);
      out.push({
        name: 'rollout stuck',
        level: 'fail',
        object: ref('Deployment', name, ns),
        detail: `deployment/${name}: progress deadline exceeded (${oneLine(progressing.message)}); ${d.status?.updatedReplicas ?? 0}/${d.spec?.replicas ?? 1} updated, ${d.status?.availableReplicas ?? 0} available${blamed ? `; pod ${blamed.problem.pod}: ${blamed.problem.reason}` : ''}`,
        hint: blamed
          ? `npx zx scripts/debug.ts -n ${ns} ${blamed.problem.pod}; or roll back: kubectl -n ${ns} rollout undo deployment/${name}`
          : `kubectl -n ${ns} rollout undo deployment/${name}`,
        evidence: {
          reason: 'ProgressDeadlineExceeded',
          message: progressing.message,
          updated: d.status?.updatedReplicas ?? 0,
          desired: d.spec?.replicas ?? 1,
          ...(blamed ? { pod: blamed.problem.pod, podReason: blamed.problem.reason } : {}),
        },
      });
    } else if (failure) {
      out.push({
        name: 'pods cannot be created',
        level: 'fail',
        object: ref('Deployment', name, ns),
        detail: `deployment/${name}: ${failure.reason}: ${oneLine(failure.message)}`,
        hint: `kubectl -n ${ns} describe deployment ${name}`,
        evidence: { reason: failure.reason, message: failure.message },
      });
    }
  }
  return out;
};

/** At most two edits apart (Levenshtein), for short label values. */
function nearlyEqual(a: string, b: string): boolean {
  if (Math.abs(a.length - b.length) > 2) return false;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++)
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length]! <= 2;
}

/** The pods whose labels come closest to a selector no pod matches, and how they differ. */
export function nearestPods(
  selector: Record<string, string>,
  pods: readonly V1Pod[],
  max = 3,
): { pod: string; labels: Record<string, string>; differs: Record<string, string | null> }[] {
  const keys = Object.keys(selector);
  return pods
    .map((p) => {
      const labels = p.metadata?.labels ?? {};
      const same = keys.filter((k) => labels[k] === selector[k]).length;
      const shared = keys.filter((k) => k in labels).length;
      // A key with another value, or a value under another key: either way the pod looks like the target.
      const valueSeen = Object.values(labels).some((v) => Object.values(selector).includes(v));
      // A typo: the value under the selector's key differs by a character or two ("apii" for "api").
      const typos = keys.filter(
        (k) => k in labels && labels[k] !== selector[k] && nearlyEqual(labels[k]!, selector[k]!),
      ).length;
      return { p, labels, score: same * 4 + shared * 2 + typos * 2 + Number(valueSeen) };
    })
    .filter((x) => x.score > 0)
    .sort((a, b) => b.score - a.score || podName(a.p).localeCompare(podName(b.p)))
    .slice(0, max)
    .map(({ p, labels }) => ({
      pod: podName(p),
      labels,
      differs: Object.fromEntries(keys.filter((k) => labels[k] !== selector[k]).map((k) => [k, labels[k] ?? null])),
    }));
}

const services: ObjectAnalyzer = ({ input, ns, live }) => {
  const out: Finding[] = [];
  for (const svc of input.services) {
    const selector = svc.spec?.selector;
    const name = svc.metadata?.name ?? '?';
    if (!selector || !Object.keys(selector).length || svc.spec?.type === 'ExternalName') continue;
    if (live.some((p) => selects(selector, p.metadata?.labels))) continue;
    const sel = selectorString({ matchLabels: selector });
    const near = nearestPods(selector, live);
    const differs = near[0]
      ? Object.entries(near[0].differs)
          .map(([k, v]) => (v === null ? `no ${k} label` : `${k}=${v}`))
          .join(', ')
      : '';
    out.push({
      name: 'service selects no pods',
      level: 'fail',
      object: ref('Service', name, ns),
      detail: `service/${name} selects ${sel}: no pod has these labels${near[0] ? `; closest: pod ${near[0].pod} has ${differs}` : ` (${live.length} pods in the namespace)`}`,
      hint: near[0]
        ? `fix the selector or the pod labels: kubectl -n ${ns} get pods --show-labels; kubectl -n ${ns} get service ${name} -o jsonpath='{.spec.selector}'`
        : `kubectl -n ${ns} get pods --show-labels`,
      evidence: { selector, nearest: near },
    });
  }
  return out;
};

const ingresses: ObjectAnalyzer = ({ input, ns }) => {
  const out: Finding[] = [];
  for (const ing of input.ingresses) {
    const name = ing.metadata?.name ?? '?';
    const backends = [
      ...(ing.spec?.defaultBackend?.service
        ? [{ host: '*', path: '(default)', svc: ing.spec.defaultBackend.service }]
        : []),
      ...(ing.spec?.rules ?? []).flatMap((r) =>
        (r.http?.paths ?? [])
          .filter((p) => p.backend.service)
          .map((p) => ({ host: r.host ?? '*', path: p.path ?? '/', svc: p.backend.service! })),
      ),
    ];
    for (const b of backends) {
      const port = b.svc.port?.number ?? b.svc.port?.name;
      const svc = input.services.find((s) => s.metadata?.name === b.svc.name);
      const where = `${b.host}${b.path}`;
      if (!svc) {
        out.push({
          name: 'ingress to a missing service',
          level: 'fail',
          object: ref('Ingress', name, ns),
          detail: `ingress/${name}: ${where} goes to service ${b.svc.name}, which does not exist (services: ${input.services.map((s) => s.metadata?.name).join(', ') || 'none'})`,
          hint: `kubectl -n ${ns} get services   # then fix the backend of ingress ${name}`,
          evidence: {
            host: b.host,
            path: b.path,
            service: b.svc.name,
            port: port ?? null,
            services: input.services.map((s) => s.metadata?.name),
          },
        });
        continue;
      }
      const ports = svc.spec?.ports ?? [];
      if (port !== undefined && !ports.some((p) => (typeof port === 'number' ? p.port === port : p.name === port))) {
        out.push({
          name: 'ingress to a missing port',
          level: 'fail',
          object: ref('Ingress', name, ns),
          detail: `ingress/${name}: ${where} goes to port ${port} of service ${b.svc.name}, which has ${ports.map((p) => `${p.port}${p.name ? ` (${p.name})` : ''}`).join(', ') || 'no ports'}`,
          hint: `kubectl -n ${ns} get service ${b.svc.name} -o jsonpath='{.spec.ports}'   # then fix the backend port of ingress ${name}`,
          evidence: {
            host: b.host,
            path: b.path,
            service: b.svc.name,
            port,
            servicePorts: ports.map((p) => ({ port: p.port, name: p.name ?? null })),
          },
        });
      }
    }
  }
  return out;
};

const hpas: ObjectAnalyzer = ({ input, ns }) => {
  const out: Finding[] = [];
  for (const h of input.hpas) {
    const name = h.metadata?.name ?? '?';
    const target = h.spec?.scaleTargetRef;
    const conds = h.status?.conditions ?? [];
    const bad = conds.find((c) => (c.type === 'ScalingActive' || c.type === 'AbleToScale') && c.status === 'False');
    const created = h.metadata?.creationTimestamp ? new Date(h.metadata.creationTimestamp).getTime() : 0;
    const young = (input.now.getTime() - created) / 1000 < 60;
    if (!bad && (h.status?.currentMetrics?.length || young || !h.spec?.metrics?.length)) continue;
    const why = bad ? `${bad.reason}: ${oneLine(bad.message)}` : 'no current metrics';
    const missingRequest = /missing request for (\w+)/.exec(bad?.message ?? '')?.[1];
    out.push({
      name: 'HPA without metrics',
      level: 'fail',
      object: ref('HorizontalPodAutoscaler', name, ns),
      detail: `hpa/${name} (${target?.kind?.toLowerCase()}/${target?.name}) cannot scale: ${why}`,
      hint: missingRequest
        ? `set resources.requests.${missingRequest} on every container of ${target?.kind?.toLowerCase()}/${target?.name}`
        : `kubectl -n ${ns} describe hpa ${name}; kubectl top pods -n ${ns}   # is the metrics API served?`,
      evidence: {
        reason: bad?.reason ?? 'NoMetrics',
        message: bad?.message ?? null,
        target: `${target?.kind}/${target?.name}`,
        ...(missingRequest ? { missingRequest } : {}),
      },
    });
  }
  return out;
};

const claims: ObjectAnalyzer = ({ input, ns, cutoff }) =>
  input.pvcs
    .filter((c) => c.status?.phase === 'Pending' || c.status?.phase === 'Lost')
    .map((c) => {
      const name = c.metadata?.name ?? '?';
      const ev = input.events
        .filter(
          (e) =>
            e.involvedObject.kind === 'PersistentVolumeClaim' &&
            e.involvedObject.name === name &&
            eventTime(e) >= cutoff,
        )
        .sort((a, b) => eventTime(b) - eventTime(a))[0];
      const sc = c.spec?.storageClassName;
      return {
        name: 'volume claim pending',
        level: 'fail' as const,
        object: ref('PersistentVolumeClaim', name, ns),
        detail: `pvc/${name}: ${c.status?.phase} (storage class ${sc ?? 'default'}, ${c.spec?.resources?.requests?.storage ?? '?'})${ev ? `: ${ev.reason}: ${oneLine(ev.message)}` : ''}`,
        hint: `kubectl get storageclass   # is ${sc ? `"${sc}"` : 'a default class'} there, with a provisioner?; kubectl -n ${ns} describe pvc ${name}`,
        evidence: {
          phase: c.status?.phase,
          storageClass: sc ?? null,
          ...(ev ? { reason: ev.reason, message: ev.message } : {}),
        },
      };
    });

/** In the order debug lists them, after the pods' findings. */
export const objectAnalyzers: readonly ObjectAnalyzer[] = [rollouts, services, ingresses, hpas, claims];
