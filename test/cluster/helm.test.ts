// scripts/lib/release/helm.ts against the real helm and the real API server: every call bound
// to the run's kubeconfig and namespace, failures mapped to exit 3 / 4 with
// helm's own reason, values (which may hold secrets) only ever in files.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { Helm } from '../../scripts/lib/release/helm.ts';
import { Exit, OpsError } from '../../scripts/lib/kit/errors.ts';
import { deleteNamespace, fixture, kube, tempNamespace } from '../helpers/cluster.ts';
import { repoRoot } from '../helpers/run.ts';
import { binDir } from '../../scripts/lib/local-cluster/cluster.ts';

const helmBin = path.join(binDir, 'helm');

describe('scripts/lib/release/helm.ts on the test bed', () => {
  let ns: string;
  const log: string[] = [];
  let helm: Helm;
  const chart = fixture('tiny-chart');
  beforeAll(async () => {
    ns = await tempNamespace('helm');
    helm = new Helm({ namespace: ns, kubeconfig: inject('kubeconfig'), bin: helmBin, log: (m) => log.push(m) });
  });
  afterAll(() => deleteNamespace(ns));

  it('a release that is not installed has no status and no history (not an error)', async () => {
    expect(await helm.status('tiny')).toBeUndefined();
    expect(await helm.history('tiny')).toEqual([]);
  });

  it('upgrade --install, then a change, then rollback: revisions, values and manifests follow', async () => {
    const secretish = 'greeting-that-must-stay-off-the-command-line';
    const first = await helm.upgradeInstall({
      release: 'tiny',
      chart,
      values: { greeting: secretish },
      wait: true,
      timeoutSec: 60,
    });
    expect(first).toMatchObject({ name: 'tiny', namespace: ns, version: 1, info: { status: 'deployed' } });
    expect(await helm.getValues('tiny')).toEqual({ greeting: secretish });
    const cm = await kube().read<{ apiVersion?: string; kind?: string; data: Record<string, string> }>(
      'v1',
      'ConfigMap',
      'tiny-settings',
      ns,
    );
    expect(cm?.data.greeting).toBe(secretish);
    // The value went through a private file: not on any logged command line, and the file is gone.
    expect(log.join('\n')).not.toContain(secretish);
    const valuesArg = log.find((l) => l.includes('upgrade --install'))!.match(/--values (\S+)/)![1]!;
    expect(fs.existsSync(valuesArg)).toBe(false);
    expect(log.find((l) => l.includes('upgrade --install'))).toContain(
      `--namespace ${ns} --kubeconfig ${inject('kubeconfig')}`,
    );

    await helm.upgradeInstall({ release: 'tiny', chart, values: { greeting: 'second' }, wait: true, timeoutSec: 60 });
    expect(await helm.getManifest('tiny')).toContain('greeting: "second"');
    await helm.rollback('tiny', 1, { wait: true, timeoutSec: 60 });
    const history = await helm.history('tiny');
    expect(history.map((h) => [h.revision, h.status])).toEqual([
      [1, 'superseded'],
      [2, 'superseded'],
      [3, 'deployed'],
    ]);
    expect(history[2]!.description).toBe('Rollback to 1');
    expect(await helm.getManifest('tiny')).toContain(`greeting: "${secretish}"`);
    expect((await helm.getValues('tiny', { all: true })).greeting).toBe(secretish);
  });

  it('a server-side dry run validates against the API server and creates no revision', async () => {
    const before = (await helm.history('tiny')).length;
    const dry = await helm.upgradeInstall({ release: 'tiny', chart, values: { greeting: 'dry' }, dryRun: true });
    expect(dry.info.status).toBe('pending-upgrade');
    expect((await helm.history('tiny')).length).toBe(before);
  });

  it('template renders without a cluster', async () => {
    const offline = new Helm({
      namespace: 'x',
      kubeconfig: path.join(repoRoot, 'test/fixtures/kubeconfig-offline.yaml'),
      bin: helmBin,
    });
    const docs = YAML.parseAllDocuments(
      await offline.template({ release: 'r', chart, values: { greeting: 'hey' } }),
    ).map((d) => d.toJS());
    expect(docs.find((d) => d.kind === 'ConfigMap').data.greeting).toBe('hey');
  });

  it("a failed action is exit 4 with helm's own reason", async () => {
    const err = await helm
      .upgradeInstall({ release: 'tiny', chart: path.join(os.tmpdir(), 'no-such-chart') })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpsError);
    expect((err as OpsError).code).toBe(Exit.actionFailed);
    expect((err as OpsError).message).toMatch(/^helm upgrade failed \(exit 1\): path "[^"]*no-such-chart" not found$/);
  });

  it('an unreachable cluster is exit 3', async () => {
    const offline = new Helm({
      namespace: 'x',
      kubeconfig: path.join(repoRoot, 'test/fixtures/kubeconfig-offline.yaml'),
      bin: helmBin,
    });
    const err = await offline.status('tiny').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpsError);
    expect((err as OpsError).code).toBe(Exit.unreachable);
    expect((err as OpsError).message).toMatch(/Kubernetes cluster unreachable|connection refused/);
  });

  it('uninstall removes the release and its objects', async () => {
    await helm.uninstall('tiny', { wait: true, timeoutSec: 60 });
    expect(await helm.status('tiny')).toBeUndefined();
    expect(await kube().read('v1', 'ConfigMap', 'tiny-settings', ns)).toBeUndefined();
  });
});
