// Speaking to the app as a user, the way its frontend does: a Better Auth style
// JWT (HS256, `sub` = user id) signed with the release's BETTER_AUTH_SECRET.
// The secret is read where the backend reads it (its Deployment's secretKeyRef),
// so an existingSecret, the chart's own Secret and deploy's Secret all work.
// Token and secret are registered with the output scrubber before they exist
// anywhere else: neither can reach a log line.
import crypto from 'node:crypto';
import type { V1Deployment } from '@kubernetes/client-node';
import type { Kube } from '../kube/client.ts';
import { OpsError, Exit } from '../kit/errors.ts';
import { addSecret } from '../kit/output.ts';

const b64url = (b: Buffer | string) => Buffer.from(b).toString('base64url');

/** An HS256 JWT for `sub`, valid for `ttlSec` (pure). */
export function signJwt(secret: string, sub: string, ttlSec = 900, now = Date.now()): string {
  const iat = Math.floor(now / 1000);
  const head = b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
  const body = b64url(JSON.stringify({ sub, iat, exp: iat + ttlSec }));
  const sig = crypto.createHmac('sha256', secret).update(`${head}.${body}`).digest('base64url');
  return `${head}.${body}.${sig}`;
}

/** Where the backend container reads BETTER_AUTH_SECRET from (pure). */
export function authSecretRef(deploy: V1Deployment): { name: string; key: string } | undefined {
  for (const c of deploy.spec?.template.spec?.containers ?? []) {
    const ref = c.env?.find((e) => e.name === 'BETTER_AUTH_SECRET')?.valueFrom?.secretKeyRef;
    if (ref?.name) return { name: ref.name, key: ref.key };
  }
  return undefined;
}

/** The release's backend Deployment: by the chart's component label, else by name. */
async function backendDeployment(kube: Kube, namespace: string, release: string): Promise<V1Deployment> {
  const list = await kube.apps.listNamespacedDeployment({
    namespace,
    labelSelector: `app.kubernetes.io/instance=${release},app.kubernetes.io/component=backend`,
  });
  const found =
    list.items[0] ??
    (await kube.apps.readNamespacedDeployment({ namespace, name: `${release}-backend` }).catch(() => undefined));
  if (!found)
    throw new OpsError(
      `no backend Deployment for release ${release} in namespace ${namespace}`,
      Exit.problem,
      `npx zx scripts/deploy.ts -n ${namespace}`,
    );
  return found;
}

/**
 * A bearer token for `user`, signed with the secret the running backend verifies with.
 * `backend`: its Deployment when the caller already listed it (a scan lists each kind once).
 */
export async function appToken(
  kube: Kube,
  namespace: string,
  release: string,
  user: string,
  ttlSec = 900,
  backend?: V1Deployment,
): Promise<string> {
  const deploy = backend ?? (await backendDeployment(kube, namespace, release));
  const ref = authSecretRef(deploy);
  if (!ref)
    throw new OpsError(
      `the backend of ${release} reads no BETTER_AUTH_SECRET from a Secret`,
      Exit.problem,
      'check the chart values: secrets.create / secrets.existingSecret',
    );
  const secret = await kube.core.readNamespacedSecret({ namespace, name: ref.name }).catch(() => undefined);
  const raw = secret?.data?.[ref.key];
  if (!raw)
    throw new OpsError(
      `Secret ${ref.name} has no key ${ref.key}`,
      Exit.problem,
      `npx zx scripts/debug.ts -n ${namespace}`,
    );
  const value = Buffer.from(raw, 'base64').toString('utf8');
  addSecret(value);
  const token = signJwt(value, user, ttlSec);
  addSecret(token);
  return token;
}
