// verify's pure parts (lib/verify-chat.ts): the JWT, where the backend's secret
// is, and what the chat and tasks answers must hold. The real round trip against
// the real backend runs in test/cluster/bootstrap.test.ts (bootstrap's verify step).
import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createdTaskId, jwtSecretRef, mintJwt, taskListed } from '../../scripts/lib/verify-chat.ts';

describe('verify: the JWT', () => {
  it('is HS256 with the standard header: the published example token comes out byte for byte', () => {
    expect(mintJwt('your-256-bit-secret', { sub: '1234567890', name: 'John Doe', iat: 1516239022 })).toBe(
      'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c',
    );
  });
  it('carries sub and exp and is signed with the given secret only', () => {
    const t = mintJwt('s3cret', { sub: 'u1', exp: 2000000000 });
    const [h, p, sig] = t.split('.');
    expect(JSON.parse(Buffer.from(p!, 'base64url').toString())).toEqual({ sub: 'u1', exp: 2000000000 });
    expect(sig).toBe(createHmac('sha256', 's3cret').update(`${h}.${p}`).digest('base64url'));
    expect(sig).not.toBe(createHmac('sha256', 'other').update(`${h}.${p}`).digest('base64url'));
  });
});

describe("verify: the backend's secret", () => {
  const dep = (name: string, component: string, ref?: { name: string; key: string }) => ({
    metadata: { name, labels: { 'app.kubernetes.io/component': component } },
    spec: { template: { spec: { containers: [{ name: 'app', env: [{ name: 'PORT' }, ...(ref ? [{ name: 'BETTER_AUTH_SECRET', valueFrom: { secretKeyRef: ref } }] : [])] }] } } },
  });
  it('is the Secret and key the backend Deployment reads BETTER_AUTH_SECRET from', () => {
    expect(jwtSecretRef([dep('r-frontend', 'frontend', { name: 'wrong', key: 'K' }), dep('r-backend', 'backend', { name: 'r-app-secrets', key: 'BETTER_AUTH_SECRET' })], 'r'))
      .toEqual({ deployment: 'r-backend', secret: 'r-app-secrets', key: 'BETTER_AUTH_SECRET' });
    expect(jwtSecretRef([dep('r-backend', 'backend')], 'r')).toBeUndefined();
  });
});

describe('verify: the answers', () => {
  const chat = (calls: unknown[]) => JSON.stringify({ conversation_id: 1, response: 'ok', tool_calls: calls });
  it('the chat must have called add_task and got a task id for the same title', () => {
    expect(createdTaskId(200, chat([{ tool: 'add_task', arguments: {}, result: { task_id: 7, status: 'created', title: 'verify x' } }]), 'verify x')).toEqual({ id: 7 });
    expect(createdTaskId(200, chat([{ tool: 'list_tasks', result: [] }]), 'verify x')).toEqual({ problem: 'the agent called no add_task (tool calls: list_tasks)' });
    expect(createdTaskId(200, chat([{ tool: 'add_task', result: { task_id: 7, title: 'verify' } }]), 'verify x')).toEqual({ problem: 'add_task created "verify", not "verify x"' });
    expect(createdTaskId(401, '{"detail":"invalid or expired token"}', 'verify x')).toEqual({ problem: 'POST /chat answered 401: {"detail":"invalid or expired token"}' });
    expect(createdTaskId(200, '<html>', 't')).toEqual({ problem: 'POST /chat answered 200 with no JSON: <html>' });
  });
  it('the tasks API must list it under that title', () => {
    expect(taskListed(200, JSON.stringify([{ id: 7, title: 'verify x' }]), 7, 'verify x')).toBeUndefined();
    expect(taskListed(200, JSON.stringify([{ id: 6, title: 'verify x' }]), 7, 'verify x')).toBe("task 7 created through the chat is not in the tasks API's list (1 tasks)");
    expect(taskListed(200, JSON.stringify([{ id: 7, title: 'other' }]), 7, 'verify x')).toBe('task 7 is titled "other", not "verify x"');
    expect(taskListed(503, '', 7, 'x')).toBe('GET /tasks answered 503');
  });
});
