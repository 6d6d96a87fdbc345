// doctor against real control planes: the shared bed (all well), and a bare
// second one for the states the shared bed must never be in (no Ready node,
// no metrics API). Old tool versions come from version-only stand-ins: no
// older kubectl or helm can be had on this machine.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { assertFailure, assertSuccess, run, scratchEnv, type RunResult } from '../helpers/run.ts';
import { bedEnv, kube, deleteNamespace, tempNamespace } from '../helpers/cluster.ts';
import { addNode, miniBed, type MiniBed } from '../helpers/mini-bed.ts';
import { ApiException } from '../../scripts/lib/kube/k8s.ts';

interface Finding {
  name: string;
  level: string;
  detail: string;
  hint?: string;
  required?: boolean;
}
const findings = (r: RunResult) =>
  Object.fromEntries(r.json<{ findings: Finding[] }>().findings.map((f) => [f.name, f]));

/** A directory with executables that only answer the version probe with `version`. */
function versionStandins(tools: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'todo-ops-old-tools-'));
  for (const [name, out] of Object.entries(tools))
    fs.writeFileSync(path.join(dir, name), `#!/bin/sh\necho '${out}'\n`, { mode: 0o755 });
  return dir;
}

describe('doctor against the test bed', () => {
  it('passes with valid JSON: cluster, nodes, metrics API and tools all ok', async () => {
    const r = await run('scripts/doctor.ts', ['--profile', 'testbed', '--output', 'json'], {
      env: { ...bedEnv(), ...scratchEnv() },
    });
    assertSuccess(r);
    const byName = findings(r);
    expect(r.json<{ ok: boolean }>().ok).toBe(true);
    expect(byName.cluster?.detail).toContain('v1.33');
    expect(byName.nodes?.level).toBe('ok');
    expect(byName['metrics API']?.level).toBe('ok');
    expect(byName['tool helm']?.level).toBe('ok');
    expect(byName['kubectl skew']?.level).toBe('ok');
  });

  it('--context naming a context the kubeconfig lacks exits 3 with the known contexts', async () => {
    const r = await run('scripts/doctor.ts', ['--profile', 'testbed', '--context', 'nope'], {
      env: { ...bedEnv(), ...scratchEnv() },
    });
    assertFailure(r, 3);
    expect(r.output).toContain('context "nope" not found in kubeconfig');
    expect(r.output).toMatch(/contexts: kwok-/);
  });

  it('a kubectl more than one minor version from the server is a skew warning; a helm older than 3.12 fails', async () => {
    const old = versionStandins({ kubectl: '{"clientVersion":{"gitVersion":"v1.29.4"}}', helm: 'v3.5.4+g1b5edb6' });
    const env = { ...bedEnv(), ...scratchEnv() };
    env.PATH = `${old}${path.delimiter}${env.PATH}`;
    const r = await run('scripts/doctor.ts', ['--profile', 'testbed', '-o', 'json'], { env });
    assertFailure(r, 1);
    const byName = findings(r);
    expect(byName['kubectl skew']).toMatchObject({
      level: 'warn',
      detail: 'kubectl 1.29.4 vs server v1.33.13 (4 minor versions apart)',
    });
    expect(byName['tool helm']).toMatchObject({
      level: 'fail',
      detail: 'version 3.5.4 is older than 3.12.0',
      required: true,
    });
    expect(byName['tool kubectl']?.level).toBe('ok');
  });
});

describe('the test bed enforces Pod Security', () => {
  let ns: string;
  beforeAll(async () => {
    ns = await tempNamespace('pss', { 'pod-security.kubernetes.io/enforce': 'restricted' });
  });
  afterAll(() => deleteNamespace(ns));

  it('a privileged pod is refused in a restricted namespace', async () => {
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'privileged', namespace: ns },
      spec: { containers: [{ name: 'c', image: 'busybox:1.36', securityContext: { privileged: true } }] },
    };
    const err = await kube()
      .apply(pod)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiException);
    expect((err as ApiException<unknown>).code).toBe(403);
    expect(JSON.parse(String((err as ApiException<unknown>).body)).message).toMatch(
      /violates PodSecurity "restricted:latest": privileged \(container "c" must not set securityContext.privileged=true\)/,
    );
    expect(await kube().read('v1', 'Pod', 'privileged', ns)).toBeUndefined();
  });
});

describe('doctor on a bare control plane: the problem paths', () => {
  let bed: MiniBed;
  beforeAll(async () => {
    bed = await miniBed();
  }, 180_000);
  afterAll(() => bed?.down());
  const doctor = (extra: NodeJS.ProcessEnv = {}) =>
    run('scripts/doctor.ts', ['--profile', 'testbed', '-o', 'json'], {
      env: { ...bedEnv(), ...scratchEnv(), KUBECONFIG: bed.kubeconfig, ...extra },
    });

  it('no node at all, then only a NotReady node: nodes fail (exit 1) with the node named', async () => {
    const empty = await doctor();
    assertFailure(empty, 1);
    expect(findings(empty).nodes).toMatchObject({ level: 'fail', detail: '0/0 Ready' });
    await addNode(bed, 'sick-1', false);
    const sick = await doctor();
    assertFailure(sick, 1);
    expect(findings(sick).nodes).toMatchObject({ level: 'fail', detail: '0/1 Ready; not Ready: sick-1' });
  });

  it('one Ready node beside a NotReady one is a warning; no metrics API fails unless TODO_REQUIRE_METRICS=false', async () => {
    await addNode(bed, 'well-1', true);
    const r = await doctor();
    assertFailure(r, 1);
    const byName = findings(r);
    expect(byName.nodes).toMatchObject({
      level: 'warn',
      detail: '1/2 Ready; not Ready: sick-1',
      hint: 'kubectl describe node sick-1',
    });
    expect(byName['metrics API']).toMatchObject({
      level: 'fail',
      detail: 'metrics.k8s.io is not served',
      required: true,
    });
    expect(byName['metrics API']?.hint).toContain('metrics-server');

    const optional = await doctor({ TODO_REQUIRE_METRICS: 'false' });
    assertSuccess(optional);
    expect(findings(optional)['metrics API']).toMatchObject({ level: 'warn', required: false });
  });

  it('text output names the failed checks and counts them', async () => {
    const r = await run('scripts/doctor.ts', ['--profile', 'testbed'], {
      env: { ...bedEnv(), ...scratchEnv(), KUBECONFIG: bed.kubeconfig },
    });
    assertFailure(r, 1);
    expect(r.stdout).toMatch(/^metrics API\s+FAIL\s+metrics\.k8s\.io is not served/m);
    expect(r.stdout).toMatch(/1 required check\(s\) failed/);
  });
});

void inject;
