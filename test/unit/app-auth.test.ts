import crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { authSecretRef, signJwt } from '../../scripts/lib/app/auth.ts';

describe('scripts/lib/app/auth.ts', () => {
  it('signs an HS256 token the way PyJWT verifies it: header.body.signature over the first two parts', () => {
    const t = signJwt('s'.repeat(32), 'ops-user', 60, Date.UTC(2026, 0, 1));
    const [h, b, sig] = t.split('.');
    expect(JSON.parse(Buffer.from(h!, 'base64url').toString())).toEqual({ alg: 'HS256', typ: 'JWT' });
    expect(JSON.parse(Buffer.from(b!, 'base64url').toString())).toEqual({
      sub: 'ops-user',
      iat: 1767225600,
      exp: 1767225660,
    });
    expect(sig).toBe(crypto.createHmac('sha256', 's'.repeat(32)).update(`${h}.${b}`).digest('base64url'));
    expect(signJwt('other', 'ops-user', 60, Date.UTC(2026, 0, 1)).split('.')[2]).not.toBe(sig);
  });
  it('finds the Secret the backend reads BETTER_AUTH_SECRET from', () => {
    const env = [
      { name: 'X', value: '1' },
      { name: 'BETTER_AUTH_SECRET', valueFrom: { secretKeyRef: { name: 'r-app-secrets', key: 'BETTER_AUTH_SECRET' } } },
    ];
    expect(
      authSecretRef({ spec: { selector: {}, template: { spec: { containers: [{ name: 'backend', env }] } } } }),
    ).toEqual({ name: 'r-app-secrets', key: 'BETTER_AUTH_SECRET' });
    expect(
      authSecretRef({ spec: { selector: {}, template: { spec: { containers: [{ name: 'backend' }] } } } }),
    ).toBeUndefined();
  });
});
