// The app's REST API on the bed, as a signed-in user: a port-forward to the
// release's backend Service on 127.0.0.1 and a JWT signed with the release's own
// BETTER_AUTH_SECRET (as the frontend signs it).
import http from 'node:http';
import type { V1Secret } from '@kubernetes/client-node';
import { signJwt } from '../../scripts/lib/app/auth.ts';
import { portForward } from '../../scripts/lib/kube/port-forward.ts';
import { kube } from './cluster.ts';

export async function appApi(ns: string, release: string, user: string) {
  const k = kube();
  const secret = await k.read<V1Secret>('v1', 'Secret', `${release}-app-secrets`, ns);
  const token = signJwt(Buffer.from(secret!.data!.BETTER_AUTH_SECRET!, 'base64').toString('utf8'), user, 3600);
  const fwd = await portForward(k, { namespace: ns, service: `${release}-backend`, port: 'http' });
  const call = <T>(method: string, p: string, body?: object) =>
    new Promise<{ status: number; body: T }>((resolve, reject) => {
      const data = body ? JSON.stringify(body) : undefined;
      const req = http.request(
        {
          host: '127.0.0.1',
          port: fwd.port,
          method,
          path: `/api/${user}${p}`,
          agent: false,
          timeout: 20_000,
          headers: {
            authorization: `Bearer ${token}`,
            ...(data ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) } : {}),
          },
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (d: string) => (text += d));
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, body: (text ? JSON.parse(text) : undefined) as T }),
          );
        },
      );
      req.on('timeout', () => req.destroy(new Error(`${method} ${p}: no answer in 20 s`)));
      req.on('error', reject);
      req.end(data);
    });
  return { call, close: () => fwd.close() };
}
