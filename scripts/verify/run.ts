// verify's reads: the release's Services (one List), the health paths through
// a port-forward to each Service (scripts/lib/app/probe.ts), then the chat round trip
// against the backend Service with a JWT minted from the Secret the backend
// reads (scripts/lib/app/auth.ts). The task it creates and its conversation (under
// verify's own one-run user) are deleted again.
import type { V1Service } from '@kubernetes/client-node';
import { Exit, OpsError, type ExitCode } from '../lib/kit/errors.ts';
import { appToken } from '../lib/app/auth.ts';
import { httpRequest, probeApp, probeFinding, probeTargets } from '../lib/app/probe.ts';
import { chatFinding, chatMessage, createdTaskId, taskListed, verifyUser } from './chat.ts';
import type { Kube } from '../lib/kube/client.ts';
import type { VerifyContext } from './spec.ts';

export async function runVerify(ctx: VerifyContext): Promise<ExitCode | void> {
  const kube = await ctx.kube();
  const ns = ctx.namespace;
  const timeoutMs = ctx.opts['request-timeout'] * 1000;
  await kube.version(); // exit 3 when unreachable
  const selector = `app.kubernetes.io/instance=${ctx.release}`;
  const services = await kube.list<V1Service>('v1', 'Service', ns, selector);
  if (!services.length) {
    ctx.result.finding({
      name: 'release',
      level: 'fail',
      detail: `no Service of release ${ctx.release} in namespace ${ns}`,
      hint: 'npx zx scripts/deploy.ts',
      required: true,
    });
    return Exit.problem;
  }
  const targets = probeTargets(services, ctx.release);
  const probes = await ctx.out.progress('asking the health endpoints', () => probeApp(kube, ns, targets, timeoutMs));
  for (const { target, outcome } of probes) ctx.result.finding(probeFinding(target, outcome, ns));
  const backend = targets.find((t) => t.component === 'backend')!;
  if (ctx.opts['no-chat']) return;
  const backendOk = probes.some((p) => p.target.component === 'backend' && p.outcome.status === 200);
  if (!backendOk) {
    ctx.result.finding({
      name: 'chat round trip',
      level: 'fail',
      detail: 'not tried: the backend is not ready',
      hint: `npx zx scripts/debug.ts -n ${ns} ${backend.service}`,
    });
    return;
  }
  const user = verifyUser();
  let token: string;
  try {
    // Signed with the secret the running backend reads (scripts/lib/app/auth.ts); scrubbed from all output.
    token = await appToken(kube, ns, ctx.release, user, 300);
  } catch (e) {
    if (!(e instanceof OpsError) || e.code === Exit.unreachable) throw e;
    ctx.result.finding({
      name: 'chat round trip',
      level: 'fail',
      detail: e.message,
      ...(e.hint ? { hint: e.hint } : {}),
    });
    return;
  }
  ctx.result.finding(
    await ctx.out.progress('chat round trip', () => chatRoundTrip(kube, ns, backend, user, token, timeoutMs)),
  );
}

async function chatRoundTrip(
  kube: Kube,
  ns: string,
  backend: { service: string; port: string | number },
  user: string,
  token: string,
  timeoutMs: number,
) {
  const { portForward } = await import('../lib/kube/port-forward.ts');
  const t0 = Date.now();
  // No colon: the agent's parser reads "add TITLE: DESCRIPTION".
  const title = `verify ${new Date().toISOString().replace(/[-:]|\.\d+/g, '')} ${user.slice(-8)}`;
  const headers = { authorization: `Bearer ${token}` };
  const base = `/api/${encodeURIComponent(user)}`;
  const done = (problem?: string, id?: number) =>
    chatFinding({ problem, id, title, user, ms: Date.now() - t0, service: backend.service, namespace: ns });
  let fwdError: string | undefined;
  let fwd;
  try {
    fwd = await portForward(kube, {
      namespace: ns,
      service: backend.service,
      port: backend.port,
      onError: (e) => (fwdError = e.message),
    });
  } catch (e) {
    return done(`port-forward to ${backend.service}: ${(e as Error).message.split('\n')[0]}`);
  }
  try {
    const chat = await httpRequest(fwd.port, 'POST', `${base}/chat`, {
      body: { message: chatMessage(title) },
      headers,
      timeoutMs,
    });
    if (chat.error) return done(`POST /chat: ${fwdError ?? chat.error}`);
    const created = createdTaskId(chat.status, chat.body ?? '', title);
    if ('problem' in created) return done(created.problem);
    const list = await httpRequest(fwd.port, 'GET', `${base}/tasks?status=all`, {
      headers,
      timeoutMs,
      maxBody: 1 << 20,
    });
    const problem = list.error
      ? `GET /tasks: ${fwdError ?? list.error}`
      : taskListed(list.status, list.body ?? '', created.id, title);
    // Leave nothing behind, whether or not the read-back matched: the task, then the run's user's conversation
    // (a backend older than DELETE /conversations answers 404 or 405: the conversation then stays, as it did).
    await httpRequest(fwd.port, 'DELETE', `${base}/tasks/${created.id}`, { headers, timeoutMs });
    await httpRequest(fwd.port, 'DELETE', `${base}/conversations`, { headers, timeoutMs });
    return done(problem, created.id);
  } finally {
    await fwd.close();
  }
}
