// alert's pure parts: the rules over plain findings and objects, the state
// machine (for, once, repeat, resolve, silence and expiry, heartbeat) on a
// fake clock, and the settings' validation.
import { describe, expect, it } from 'vitest';
import { evaluateRules, type RuleInput, type RuleSettings } from '../../ops/alert/rules.ts';
import { forMap } from '../../ops/alert/spec.ts';
import { emptyDoc, stepAlerts, type AlertsDoc, type StateSettings } from '../../ops/alert/state.ts';

const t0 = new Date('2026-01-01T00:00:00Z');
const at = (s: number) => new Date(t0.getTime() + s * 1000);
const rs: RuleSettings = {
  rules: ['crash-loop', 'replicas-mismatch', 'pods-not-ready', 'restarts-rising', 'readyz', 'backup-stale', 'forecast'],
  restartsThreshold: 3,
  restartsWindowSec: 900,
  backupMaxAgeSec: 26 * 3600,
};
const input = (o: Partial<RuleInput>): RuleInput => ({
  now: t0,
  namespace: 'ns',
  findings: [],
  pods: [],
  deployments: [],
  statefulSets: [],
  restartSamples: {},
  ...o,
});
const ss: StateSettings = {
  forSec: {
    'crash-loop': 60,
    'replicas-mismatch': 300,
    'pods-not-ready': 300,
    'restarts-rising': 0,
    readyz: 120,
    'backup-stale': 0,
    forecast: 0,
    'service-endpoints': 120,
    'release-drift': 300,
  },
  repeatSec: 3600,
  heartbeatSec: 0,
};
const crash = {
  rule: 'crash-loop' as const,
  key: 'crash-loop:deployment/api',
  object: 'deployment/api',
  level: 'fail' as const,
  summary: 'deployment/api is crash-looping',
  detail: 'api-1: exit 1',
};

describe('alert rules', () => {
  const pod = (name: string, restarts: number) => ({
    metadata: {
      name,
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'api-7d9c', uid: 'u', controller: true }],
    },
    status: { containerStatuses: [{ name: 'app', image: 'x', imageID: '', ready: false, restartCount: restarts }] },
  });
  const deployments = [
    { metadata: { name: 'api' }, spec: { replicas: 2, selector: {}, template: {} }, status: { readyReplicas: 1 } },
  ];

  it('a crash-loop finding becomes one condition per workload; a replicas shortfall another', () => {
    const findings = [
      { name: 'crash loop', level: 'fail' as const, detail: 'api-1: crash', object: { kind: 'Pod', name: 'api-1' } },
      { name: 'crash loop', level: 'fail' as const, detail: 'api-2: crash', object: { kind: 'Pod', name: 'api-2' } },
    ];
    const o = evaluateRules(input({ findings, pods: [pod('api-1', 0), pod('api-2', 0)], deployments }), rs);
    expect(o.conditions.map((c) => c.key)).toEqual(['crash-loop:deployment/api', 'replicas-mismatch:deployment/api']);
    expect(o.conditions[0]!.detail).toBe('api-1: crash\napi-2: crash');
  });

  it('restarts rising: counted across samples within the window; a replaced pod does not count as negative', () => {
    const restartSamples = {
      'deployment/api': [
        { at: at(-600).toISOString(), restarts: 5 },
        { at: at(-300).toISOString(), restarts: 0 },
      ],
    };
    const o = evaluateRules(input({ pods: [pod('api-1', 3)], deployments: [], restartSamples }), {
      ...rs,
      rules: ['restarts-rising'],
    });
    // Without its Deployment the pod counts under its ReplicaSet: a first sample, nothing to compare with yet.
    expect(o.conditions).toEqual([]);
    expect(Object.keys(o.restartSamples)).toEqual(['replicaset/api-7d9c']);
    const p = evaluateRules(
      input({ pods: [pod('api-1', 3)], deployments: [{ metadata: { name: 'api' } }], restartSamples }),
      { ...rs, rules: ['restarts-rising'] },
    );
    expect(p.conditions).toEqual([
      expect.objectContaining({
        key: 'restarts-rising:deployment/api',
        summary: expect.stringContaining('3 restarts'),
      }),
    ]);
    expect(p.restartSamples['deployment/api']).toHaveLength(3);
  });

  it('backups: inactive without a stream; fires when the last good (ok, not failed verification) backup is too old', () => {
    expect(evaluateRules(input({}), rs).inactive.map((x) => x.rule)).toEqual(['readyz', 'backup-stale', 'forecast']);
    const b = (h: number, ok: boolean, verified: boolean | null) => ({
      at: at(-h * 3600).toISOString(),
      ok,
      verified,
      archive: `a${h}`,
      bytes: 1,
      durationMs: 1,
    });
    expect(
      evaluateRules(input({ backups: [b(1, true, false), b(2, false, null), b(20, true, null)] }), rs).conditions,
    ).toEqual([]);
    const stale = evaluateRules(input({ backups: [b(1, true, false), b(30, true, true)] }), rs).conditions;
    expect(stale).toEqual([
      expect.objectContaining({ rule: 'backup-stale', summary: expect.stringContaining('1.3d old') }),
    ]);
  });

  it('service-endpoints: a Service whose selector matches no Ready pod fires (no pod, or none Ready); one that serves, or has no selector, does not', () => {
    const svc = (name: string, selector?: Record<string, string>) => ({ metadata: { name }, spec: { selector } });
    const p = (name: string, app: string, isReady: boolean) => ({
      metadata: { name, labels: { app } },
      status: { conditions: [{ type: 'Ready', status: isReady ? 'True' : 'False' }] },
    });
    const o = evaluateRules(
      input({
        services: [svc('web', { app: 'web' }), svc('api', { app: 'api' }), svc('lost', { app: 'nobody' }), svc('ext')],
        pods: [p('web-1', 'web', true), p('web-2', 'web', false), p('api-1', 'api', false)],
      }),
      { ...rs, rules: ['service-endpoints'] },
    );
    expect(o.conditions.map((c) => [c.key, c.level, c.detail])).toEqual([
      ['service-endpoints:service/api', 'fail', 'selector app=api matches 1 pod(s), none Ready'],
      ['service-endpoints:service/lost', 'fail', 'selector app=nobody matches no pod'],
    ]);
    expect(o.conditions[0]!.summary).toBe('service/api has no endpoints: no Ready pod matches its selector');
  });

  it('release-drift: one condition per drifted object, a Secret value never shown; inactive when the release is not deployed', () => {
    const o = evaluateRules(
      input({
        release: 'rel',
        drift: [
          { object: 'Deployment/web', path: 'spec.a', live: '"x"', desired: '"y"' },
          { object: 'Deployment/web', path: 'spec.b', live: '1', desired: '2' },
          { object: 'Secret/s', path: 'data.K', live: '(hidden)', desired: '(hidden)', secret: true },
        ],
      }),
      { ...rs, rules: ['release-drift'] },
    );
    expect(o.conditions.map((c) => [c.key, c.level, c.detail])).toEqual([
      ['release-drift:deployment/web', 'warn', 'spec.a: live "x", desired "y"\nspec.b: live 1, desired 2'],
      ['release-drift:secret/s', 'warn', 'data.K: value differs'],
    ]);
    expect(o.conditions[0]!.summary).toBe('release rel drifted: deployment/web differs from its latest revision');
    const none = evaluateRules(input({ release: 'rel' }), { ...rs, rules: ['release-drift'] });
    expect(none.conditions).toEqual([]);
    expect(none.inactive).toEqual([{ rule: 'release-drift', why: 'release rel has no deployed revision here' }]);
    expect(evaluateRules(input({ drift: [] }), { ...rs, rules: ['release-drift'] }).conditions).toEqual([]);
  });

  it('forecasts: warn and fail levels fire, ok does not', () => {
    const f = (key: string, level: 'ok' | 'warn' | 'fail') => ({
      key,
      kind: 'memory' as const,
      object: { kind: 'Pod', name: 'api-1', namespace: 'ns' },
      etaSeconds: 3600,
      r2: 0.9,
      samples: 12,
      spanSeconds: 3600,
      level,
      detail: `${key} fills`,
    });
    const o = evaluateRules(
      input({ forecasts: { at: t0.toISOString(), forecasts: [f('m1', 'ok'), f('m2', 'warn'), f('m3', 'fail')] } }),
      rs,
    );
    expect(o.conditions.map((c) => [c.key, c.level])).toEqual([
      ['forecast:m2', 'warn'],
      ['forecast:m3', 'fail'],
    ]);
  });
});

describe('alert state', () => {
  it('pending until its for, then one firing notice, a repeat only after the repeat interval, a resolved notice when it clears', () => {
    let doc: AlertsDoc = emptyDoc();
    const step = (s: number, conds = [crash], settings = ss) => {
      const o = stepAlerts(doc, conds, at(s), settings);
      doc = o.doc;
      return o.notices.map((n) => n.kind);
    };
    expect(step(0)).toEqual([]);
    expect(doc.alerts[crash.key]!.state).toBe('pending');
    expect(step(59)).toEqual([]);
    expect(step(60)).toEqual(['firing']);
    expect(step(120)).toEqual([]);
    expect(step(3659)).toEqual([]);
    expect(step(3660)).toEqual(['repeat']);
    expect(step(3700, [])).toEqual(['resolved']);
    expect(doc.alerts).toEqual({});
    expect(step(3760, [])).toEqual([]);
  });

  it('a condition that clears while pending never notifies', () => {
    let doc = stepAlerts(emptyDoc(), [crash], at(0), ss).doc;
    const o = stepAlerts(doc, [], at(30), ss);
    expect(o.notices).toEqual([]);
    doc = o.doc;
    expect(doc.alerts).toEqual({});
  });

  it('a silence holds the notices back until it expires; then the firing alert is announced; an expired silence is dropped', () => {
    let doc: AlertsDoc = {
      ...emptyDoc(),
      silences: [{ match: 'crash-loop', until: at(7200).toISOString(), created: t0.toISOString() }],
    };
    const step = (s: number, conds = [crash]) => {
      const o = stepAlerts(doc, conds, at(s), { ...ss, forSec: { ...ss.forSec, 'crash-loop': 0 } });
      doc = o.doc;
      return o;
    };
    expect(step(0)).toMatchObject({ notices: [], silenced: [crash.key] });
    expect(step(7199).notices).toEqual([]);
    const after = step(7200);
    expect(after.notices.map((n) => n.kind)).toEqual(['firing']);
    expect(after.expiredSilences).toHaveLength(1);
    expect(doc.silences).toEqual([]);
  });

  it('heartbeat: sent on the first run, then once per interval', () => {
    let doc = emptyDoc();
    const kinds = (s: number) => {
      const o = stepAlerts(doc, [], at(s), { ...ss, heartbeatSec: 600 });
      doc = o.doc;
      return o.notices.map((n) => n.kind);
    };
    expect(kinds(0)).toEqual(['heartbeat']);
    expect(kinds(599)).toEqual([]);
    expect(kinds(600)).toEqual(['heartbeat']);
  });
});

describe('alert settings', () => {
  it('TODO_ALERT_FOR merges over the defaults and rejects unknown rules and bad durations', () => {
    expect(forMap('crash-loop=30s, readyz=5m', 'K')).toMatchObject({
      'crash-loop': 30,
      readyz: 300,
      'replicas-mismatch': 300,
    });
    expect(() => forMap('crashloop=1m', 'K')).toThrow('K: unknown rule "crashloop"');
    expect(() => forMap('readyz=soon', 'K')).toThrow(/K readyz must be like 90/);
  });
});
