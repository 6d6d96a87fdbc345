// monitor --probe: the app's own health answers, through a port-forward to each
// Service (scripts/lib/kube/port-forward.ts) on 127.0.0.1: the backend's /readyz (200
// only when its database answers) and the frontend's /api/ready (200 only when
// it reaches its backend: what its readiness probe asks). Which
// Services to ask and what an answer means are pure and unit-tested; the
// asking is probeApp().
import http from 'node:http';
import type { V1Service } from '@kubernetes/client-node';
import type { Kube } from '../kube/client.ts';
import type { Finding } from '../kit/result.ts';

export interface ProbeTarget {
  component: 'backend' | 'frontend';
  service: string;
  port: string | number;
  path: string;
}
export interface ProbeOutcome {
  status?: number;
  body?: string;
  error?: string;
  ms: number;
}

const paths = { backend: '/readyz', frontend: '/api/ready' } as const;

/** The release's backend and frontend Services (by the chart's component label, else by name) and the path to ask each. */
export function probeTargets(services: readonly V1Service[], release: string): ProbeTarget[] {
  return (['backend', 'frontend'] as const).map((component) => {
    const svc =
      services.find((s) => s.metadata?.labels?.['app.kubernetes.io/component'] === component) ??
      services.find((s) => s.metadata?.name === `${release}-${component}`);
    const port = svc?.spec?.ports?.find((p) => p.name === 'http') ?? svc?.spec?.ports?.[0];
    return {
      component,
      service: svc?.metadata?.name ?? `${release}-${component}`,
      port: port?.name ?? port?.port ?? 'http',
      path: paths[component],
    };
  });
}

/** One finding per probe: ok on a 2xx answer, fail (the app is degraded) otherwise, with the answer as evidence. */
export function probeFinding(t: ProbeTarget, o: ProbeOutcome, namespace: string): Finding {
  const what = `${t.component} ${t.path}`;
  const object = { kind: 'Service', name: t.service, namespace };
  const body = (o.body ?? '').replace(/\s+/g, ' ').trim().slice(0, 200);
  const evidence = {
    service: t.service,
    path: t.path,
    ms: o.ms,
    ...(o.status !== undefined ? { status: o.status, body } : {}),
    ...(o.error ? { error: o.error } : {}),
  };
  if (o.status !== undefined && o.status >= 200 && o.status < 300)
    return {
      name: `probe ${what}`,
      level: 'ok',
      object,
      detail: `${t.service} GET ${t.path}: ${o.status} in ${o.ms} ms`,
      evidence,
    };
  return {
    name: `probe ${what}`,
    level: 'fail',
    object,
    detail: `${t.service} GET ${t.path}: ${o.status !== undefined ? `${o.status}${body ? ` ${body}` : ''}` : `no answer (${o.error})`}`,
    hint:
      t.component === 'backend'
        ? `npx zx scripts/debug.ts -n ${namespace} ${t.service}   # /readyz fails while the database is unreachable`
        : `npx zx scripts/debug.ts -n ${namespace} ${t.service}   # /api/ready fails while the frontend cannot reach its backend`,
    evidence,
  };
}

/** GET http://127.0.0.1:port/path, with a timeout; never throws. */
export function httpGet(port: number, path: string, timeoutMs = 5000): Promise<ProbeOutcome> {
  return httpRequest(port, 'GET', path, { timeoutMs, headers: { 'user-agent': 'todo-chatbot-ops/monitor' } });
}

/**
 * One HTTP request to 127.0.0.1:port (a port-forward's local end), a JSON body
 * when given; never throws: a failure is the outcome's error. The body read is
 * capped at maxBody characters.
 */
export function httpRequest(
  port: number,
  method: string,
  path: string,
  o: { body?: unknown; headers?: Record<string, string>; timeoutMs?: number; maxBody?: number } = {},
): Promise<ProbeOutcome> {
  const t0 = Date.now();
  const timeoutMs = o.timeoutMs ?? 5000;
  const maxBody = o.maxBody ?? 4096;
  const payload = o.body === undefined ? undefined : JSON.stringify(o.body);
  const headers: Record<string, string | number> = { 'user-agent': 'todo-chatbot-ops', ...o.headers };
  if (payload !== undefined)
    Object.assign(headers, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) });
  return new Promise((resolve) => {
    const req = http.request(
      { host: '127.0.0.1', port, path, method, timeout: timeoutMs, agent: false, headers },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => body.length < maxBody && (body += d));
        res.on('end', () => resolve({ status: res.statusCode, body, ms: Date.now() - t0 }));
        res.on('error', (e) => resolve({ error: e.message, ms: Date.now() - t0 }));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (e) => resolve({ error: e.message, ms: Date.now() - t0 }));
    req.end(payload);
  });
}

/** Asks each target through its own port-forward, in parallel; a Service that cannot be forwarded to is a failed probe. */
export async function probeApp(
  kube: Kube,
  namespace: string,
  targets: readonly ProbeTarget[],
  timeoutMs = 5000,
): Promise<{ target: ProbeTarget; outcome: ProbeOutcome }[]> {
  const { portForward } = await import('../kube/port-forward.ts');
  return Promise.all(
    targets.map(async (target) => {
      const t0 = Date.now();
      let fwdError: string | undefined;
      let fwd;
      try {
        fwd = await portForward(kube, {
          namespace,
          service: target.service,
          port: target.port,
          onError: (e) => (fwdError = e.message),
        });
      } catch (e) {
        return { target, outcome: { error: (e as Error).message.split('\n')[0], ms: Date.now() - t0 } };
      }
      try {
        const outcome = await httpGet(fwd.port, target.path, timeoutMs);
        return { target, outcome: outcome.error && fwdError ? { ...outcome, error: fwdError } : outcome };
      } finally {
        await fwd.close();
      }
    }),
  );
}
