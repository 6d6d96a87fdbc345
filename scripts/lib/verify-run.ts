// verify's reads: the release's Services and Deployments (one List each), the
// health paths through a port-forward to each Service (app-probe.ts), then the
// chat round trip against the backend Service with a JWT minted from the
// Secret the backend reads. The task it creates is deleted again; its
// conversation stays, under verify's own user.
import type { V1Deployment, V1Secret, V1Service } from '@kubernetes/client-node';
import type { Context } from './cli.ts';
import { Exit, type ExitCode } from './errors.ts';
import { addSecret } from './output.ts';
import { httpRequest, probeApp, probeFinding, probeTargets } from './app-probe.ts';
import { chatFinding, chatMessage, createdTaskId, jwtSecretRef, mintJwt, taskListed, verifyUser } from './verify-chat.ts';
import type { Kube } from './kube.ts';

export async function runVerify(ctx: Context<any, any>): Promise<ExitCode | void> {
  const kube = await ctx.kube();
  const ns = ctx.namespace;
  const timeoutMs = (ctx.opts['request-timeout'] as number) * 1000;
  await kube.version(); // exit 3 when unreachable
  const selector = `app.kubernetes.io/instance=${ctx.release}`;
  const [services, deployments] = await Promise.all([kube.list<V1Service>('v1', 'Service', ns, selector), kube.list<V1Deployment>('apps/v1', 'Deployment', ns, selector)]);
  if (!services.length) {
    ctx.result.finding({ name: 'release', level: 'fail', detail: `no Service of release ${ctx.release} in namespace ${ns}`, hint: 'npx zx scripts/deploy.ts', required: true });
    return Exit.problem;
  }
  const targets = probeTargets(services, ctx.release);
  const probes = await ctx.out.progress('asking the health endpoints', () => probeApp(kube, ns, targets, timeoutMs));
  for (const { target, outcome } of probes) ctx.result.finding(probeFinding(target, outcome, ns));
  const backend = targets.find((t) => t.component === 'backend')!;
  if (ctx.opts['no-chat']) return;
  const backendOk = probes.some((p) => p.target.component === 'backend' && p.outcome.status === 200);
  if (!backendOk) {
    ctx.result.finding({ name: 'chat round trip', level: 'fail', detail: 'not tried: the backend is not ready', hint: `npx zx scripts/debug.ts -n ${ns} ${backend.service}` });
    return;
  }
  const secret = await jwtSecret(kube, deployments, ctx);
  if (!secret) return;
  ctx.result.finding(await ctx.out.progress('chat round trip', () => chatRoundTrip(kube, ns, backend, secret, timeoutMs)));
}

/** BETTER_AUTH_SECRET as the backend reads it; a finding says why when it cannot be read. */
async function jwtSecret(kube: Kube, deployments: V1Deployment[], ctx: Context<any, any>): Promise<string | undefined> {
  const ref = jwtSecretRef(deployments as never, ctx.release);
  const fail = (detail: string, hint?: string) => void ctx.result.finding({ name: 'chat round trip', level: 'fail', detail, ...(hint ? { hint } : {}) });
  if (!ref) return fail(`the backend Deployment of release ${ctx.release} reads BETTER_AUTH_SECRET from no Secret`, 'npx zx scripts/deploy.ts');
  const s = await kube.read<V1Secret>('v1', 'Secret', ref.secret, ctx.namespace);
  const value = s?.data?.[ref.key] ? Buffer.from(s.data[ref.key]!, 'base64').toString('utf8') : undefined;
  if (!value) return fail(`Secret ${ref.secret} has no ${ref.key}`, 'npx zx scripts/deploy.ts   # writes the Secret from the env files');
  addSecret(value);
  return value;
}

async function chatRoundTrip(kube: Kube, ns: string, backend: { service: string; port: string | number }, secret: string, timeoutMs: number) {
  const { portForward } = await import('./kube-portforward.ts');
  const t0 = Date.now();
  const user = verifyUser();
  // No colon: the agent's parser reads "add TITLE: DESCRIPTION".
  const title = `verify ${new Date().toISOString().replace(/[-:]|\.\d+/g, '')} ${user.slice(-8)}`;
  const token = mintJwt(secret, { sub: user, exp: Math.floor(Date.now() / 1000) + 300 });
  addSecret(token);
  const headers = { authorization: `Bearer ${token}` };
  const base = `/api/${encodeURIComponent(user)}`;
  const done = (problem?: string, id?: number) => chatFinding({ problem, id, title, user, ms: Date.now() - t0, service: backend.service, namespace: ns });
  let fwdError: string | undefined;
  let fwd;
  try {
    fwd = await portForward(kube, { namespace: ns, service: backend.service, port: backend.port, onError: (e) => (fwdError = e.message) });
  } catch (e) {
    return done(`port-forward to ${backend.service}: ${(e as Error).message.split('\n')[0]}`);
  }
  try {
    const chat = await httpRequest(fwd.port, 'POST', `${base}/chat`, { body: { message: chatMessage(title) }, headers, timeoutMs });
    if (chat.error) return done(`POST /chat: ${fwdError ?? chat.error}`);
    const created = createdTaskId(chat.status, chat.body ?? '', title);
    if ('problem' in created) return done(created.problem);
    const list = await httpRequest(fwd.port, 'GET', `${base}/tasks?status=all`, { headers, timeoutMs, maxBody: 1 << 20 });
    const problem = list.error ? `GET /tasks: ${fwdError ?? list.error}` : taskListed(list.status, list.body ?? '', created.id, title);
    // Leave no task behind, whether or not the read-back matched.
    await httpRequest(fwd.port, 'DELETE', `${base}/tasks/${created.id}`, { headers, timeoutMs });
    return done(problem, created.id);
  } finally {
    await fwd.close();
  }
}
