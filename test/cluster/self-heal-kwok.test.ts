// self-heal at scale on the bed's kwok nodes (kwok plays the kubelet: pods
// become Running/Ready; the bed's crash-loop stage makes the ones labelled
// todo-ops.test/crashloop crash again and again). Each workload is one create
// call; waits are watches. A healthy namespace of 500 pods sees no action; a
// storm of 30 crash-looping pods gets at most the configured number of actions,
// then an alert; a cooldown holds from one run to the next.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { V1Deployment, V1Pod } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { bedEnv, deleteNamespace, fixture, kube, tempNamespace } from '../helpers/cluster.ts';
import { run, scratchEnv } from '../helpers/run.ts';

interface Doc {
  exitCode: number;
  actions: { what: string; target: string; status: string }[];
  findings: { name: string; level: string; detail: string; evidence?: Record<string, any> }[];
  data: Record<string, any>;
}

// The bed's two fake nodes take 110 pods each: the 500 go to a fake node of this file's own, tainted so no other pod lands there.
const node = {
  apiVersion: 'v1',
  kind: 'Node',
  metadata: {
    name: `heal-node-${process.pid}`,
    annotations: { 'kwok.x-k8s.io/node': 'fake', 'node.alpha.kubernetes.io/ttl': '0' },
    labels: { type: 'heal-500' },
  },
  spec: { taints: [{ key: 'heal-500', value: 'true', effect: 'NoSchedule' }] },
  status: {
    allocatable: { cpu: '1000', memory: '4Ti', pods: '1000' },
    capacity: { cpu: '1000', memory: '4Ti', pods: '1000' },
  },
};
const onOwnNode = {
  nodeSelector: { type: 'heal-500' },
  tolerations: [{ key: 'heal-500', operator: 'Exists', effect: 'NoSchedule' }],
};

const deployment = (ns: string, name: string, replicas: number, crash: boolean): V1Deployment => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name, namespace: ns },
  spec: {
    replicas,
    selector: { matchLabels: { app: name } },
    template: {
      metadata: {
        labels: { app: name, ...(crash ? { 'todo-ops.test/crashloop': 'true' } : {}) },
        annotations: crash ? { 'todo-ops.test/crashloop-delay-ms': '300' } : {},
      },
      spec: { ...(replicas > 100 ? onOwnNode : {}), containers: [{ name: 'app', image: 'registry.example/app:1.0' }] },
    },
  },
});
const crashing = (p: V1Pod) =>
  !p.metadata?.deletionTimestamp && (p.status?.containerStatuses?.[0]?.restartCount ?? 0) >= 1;

describe('self-heal on the kwok nodes', () => {
  const k = kube();
  const ns = { healthy: '', storm: '', cool: '' };
  let server: http.Server;
  let hook = '';
  const received: { title: string }[] = [];
  const selfHeal = (namespace: string, extra: NodeJS.ProcessEnv = {}, state = scratchEnv()) =>
    run('ops/self-heal.ts', ['-o', 'json', '-n', namespace], {
      env: {
        ...bedEnv(),
        ...state,
        TODO_RELEASE: 'none',
        TODO_WEBHOOK_URL: hook,
        TODO_WEBHOOK_FORMAT: 'json',
        TODO_WEBHOOK_RETRIES: '0',
        ...extra,
      },
      timeoutMs: 120_000,
    });
  const pods = (namespace: string, name: string, done: (ps: V1Pod[]) => boolean) =>
    k.waitFor<V1Pod>({
      apiVersion: 'v1',
      kind: 'Pod',
      namespace,
      labelSelector: `app=${name}`,
      timeoutSec: 90,
      done: (ps) => done([...ps]),
      describe: (ps) => `${ps.length} pods, ${ps.filter(crashing).length} crashing`,
    });

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (d) => (body += d)).on('end', () => (received.push(JSON.parse(body)), res.writeHead(200).end()));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    hook = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    [ns.healthy, ns.storm, ns.cool] = await Promise.all([
      tempNamespace('heal-500'),
      tempNamespace('heal-storm'),
      tempNamespace('heal-cool'),
      k.apply(node),
    ]);
    await Promise.all([
      k.apply(deployment(ns.healthy, 'web', 500, false)).then(() =>
        k.waitFor<V1Deployment>({
          apiVersion: 'apps/v1',
          kind: 'Deployment',
          namespace: ns.healthy,
          fieldSelector: 'metadata.name=web',
          timeoutSec: 120,
          done: ([d]) => d?.status?.readyReplicas === 500,
          describe: ([d]) => `${d?.status?.readyReplicas ?? 0}/500 ready`,
        }),
      ),
      k
        .apply(deployment(ns.storm, 'storm', 30, true))
        .then(() => pods(ns.storm, 'storm', (ps) => ps.filter(crashing).length === 30)),
      k
        .apply(deployment(ns.cool, 'cool', 1, true))
        .then(() => pods(ns.cool, 'cool', (ps) => ps.filter(crashing).length === 1)),
    ]);
  }, 150_000);
  afterAll(async () => {
    server?.close();
    await Promise.all(Object.values(ns).filter(Boolean).map(deleteNamespace));
    await k.delete({ apiVersion: 'v1', kind: 'Node', metadata: { name: node.metadata.name } }).catch(() => undefined);
  });

  it('a healthy namespace of 500 pods: no action, exit 0, a handful of List calls', async () => {
    const r = await selfHeal(ns.healthy);
    const doc = r.json<Doc>();
    expect(r.status, r.stderr).toBe(0);
    expect(doc.actions).toEqual([]);
    expect(doc.findings).toEqual([]);
    expect(doc.data).toMatchObject({ pods: 500, decisions: 1 });
    expect(doc.data.requests).toBeLessThanOrEqual(10); // one List per kind (pages of 500), not per pod
  }, 60_000);

  it('a storm of 30 crash-looping pods: at most TODO_SELF_HEAL_MAX_ACTIONS actions, then an alert; --agent hands what is left to kagent', async () => {
    // kagent's controller cannot run here: a stand-in `kagent` records its command line.
    const log = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'todo-ops-kagent-')), 'calls.jsonl');
    const live = async () =>
      (await k.list<V1Pod>('v1', 'Pod', ns.storm, 'app=storm'))
        .filter((p) => !p.metadata?.deletionTimestamp)
        .map((p) => p.metadata!.name!);
    const before = await live();
    expect(before).toHaveLength(30);
    const r = await run('ops/self-heal.ts', ['-o', 'json', '-n', ns.storm, '--agent'], {
      env: {
        ...bedEnv(),
        ...scratchEnv(),
        PATH: `${fixture('bin-standins')}:${bedEnv().PATH}`,
        STANDIN_LOG: log,
        TODO_RELEASE: 'none',
        TODO_WEBHOOK_URL: hook,
        TODO_WEBHOOK_FORMAT: 'json',
        TODO_WEBHOOK_RETRIES: '0',
        TODO_SELF_HEAL_MAX_ACTIONS: '4',
      },
      timeoutMs: 120_000,
    });
    const doc = r.json<Doc>();
    expect(r.status, r.stderr).toBe(1);
    expect(doc.actions).toHaveLength(4);
    expect(doc.actions.every((a) => a.what === 'delete pod' && a.status === 'done')).toBe(true);
    // The cluster, not the report: exactly the four pods named in the actions are gone, the other 26 untouched.
    const after = await live();
    const gone = before.filter((n) => !after.includes(n)).sort();
    expect(gone).toEqual(doc.actions.map((a) => a.target.slice('pod/'.length)).sort());
    expect(doc.findings.filter((f) => f.evidence?.decision === 'budget')).toHaveLength(26);
    const alerts = received.filter((n) =>
      /self-heal stopped: 26 problem\(s\) left untreated, the budget of 4 actions/.test(n.title),
    );
    expect(alerts).toHaveLength(1);
    const calls = fs
      .readFileSync(log, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as string[]);
    expect(calls).toHaveLength(1);
    const task = calls[0]![7]!;
    expect(calls[0]).toEqual([
      'kagent',
      'invoke',
      '-a',
      'todo-self-healer',
      '-n',
      ns.storm, // the Agents' namespace: the release namespace (TODO_KAGENT_NAMESPACE unset)
      '-t',
      task,
      '--timeout',
      '300s',
    ]);
    expect(task.split('\n')).toHaveLength(2 + 20); // at most 20 problems per task
    expect(task).toMatch(
      new RegExp(`^self-heal found these problems in namespace ${ns.storm} \\(Helm release none\\):\n- storm-`),
    );
    expect(doc.data.agent).toEqual({
      name: 'todo-self-healer',
      ok: true,
      text: 'todo-self-healer (stand-in): root cause noted',
    });
  }, 60_000);

  it('a cooldown holds across runs: the next run leaves the workload alone and says for how long', async () => {
    const state = scratchEnv();
    const first = await selfHeal(ns.cool, {}, state);
    expect(first.json<Doc>().actions).toEqual([expect.objectContaining({ what: 'delete pod', status: 'done' })]);
    const deleted = first.json<Doc>().actions[0]!.target.slice('pod/'.length);
    await pods(ns.cool, 'cool', (ps) => ps.some((p) => p.metadata?.name !== deleted && crashing(p)));
    const second = await selfHeal(ns.cool, {}, state);
    const doc = second.json<Doc>();
    expect(doc.actions).toEqual([]);
    expect(doc.findings).toEqual([
      expect.objectContaining({
        evidence: expect.objectContaining({ decision: 'cooldown', workload: 'deployment/cool' }),
        detail: expect.stringMatching(/acted on deployment\/cool \d+s ago; waiting \d+s more/),
      }),
    ]);
  }, 60_000);
});
