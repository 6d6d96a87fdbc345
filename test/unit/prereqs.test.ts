// The machine's prerequisites (scripts/lib/preflight): the one list against
// what the local cluster and the tests run, the plan (what is missing -> the
// exact apt-get line, or a stop with the command), consent, and the check on
// a real PATH with stand-in commands for the versions.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  installConsent,
  installPlan,
  judgeVersion,
  missingLine,
  type Machine,
} from '../../scripts/lib/preflight/install-plan.ts';
import { goMin, goToolchain, prerequisites, prereqsFor, type Prereq } from '../../scripts/lib/preflight/prereqs.ts';
import { checkPrereqs, notInstalled } from '../../scripts/lib/preflight/system.ts';

const byName = (n: string): Prereq => {
  const p = prerequisites.find((x) => x.name === n);
  if (!p) throw new Error(`no prerequisite ${n}`);
  return p;
};
const debian12: Machine = { root: true, apt: true, os: { id: 'debian', like: [], version: 12 } };

describe('the prerequisite list', () => {
  // Not postgresql: the backend's pytest runs the chart's own PostgreSQL image (backend-docker/tests/run.sh).
  it('covers every package .ci/run used to install, and every command the local cluster runs', () => {
    const testPackages = new Set(prereqsFor('tests').map((p) => p.package));
    expect(testPackages).not.toContain('postgresql');
    for (const pkg of 'chromium buildah debootstrap binutils containerd runc containernetworking-plugins iptables iproute2 util-linux gcc libc6-dev curl cron'.split(
      ' ',
    ))
      expect(testPackages, pkg).toContain(pkg);
    const localCommands = prereqsFor('local').map((p) => p.command);
    for (const cmd of [
      'go',
      'gcc',
      'strip',
      'containerd',
      'ctr',
      'runc',
      'nsenter',
      'unshare',
      'iptables',
      'ip',
      'sysctl',
      'curl',
      'buildah',
      'debootstrap',
    ])
      expect(localCommands, cmd).toContain(cmd);
  });
  it('the tests need everything the local target needs; the browser, cron and Python only the tests', () => {
    for (const p of prereqsFor('local')) expect(p.for).toContain('tests');
    expect(prereqsFor('local').map((p) => p.name)).not.toEqual(
      expect.arrayContaining(['chromium', 'crontab', 'python3']),
    );
  });
  it("Go's minimum and toolchain come from versions.env", () => {
    const env = fs.readFileSync(
      path.resolve(import.meta.dirname, '../../scripts/lib/local-cluster/versions.env'),
      'utf8',
    );
    expect(env).toContain(`GO_MIN=${goMin}`);
    expect(env).toContain(`GO_TOOLCHAIN=${goToolchain}`);
    expect(byName('go').min).toBe(goMin);
  });
});

describe('the install plan', () => {
  const missing = ['containerd', 'ctr', 'runc', 'buildah'].map(byName);
  it('missing ones as root on Debian: apt-get of exactly their packages, once each, shown as one line', () => {
    const plan = installPlan(missing, debian12);
    expect(plan).toEqual({
      kind: 'install',
      packages: ['buildah', 'containerd', 'runc'],
      commands: [
        ['apt-get', 'update', '-qq'],
        ['apt-get', 'install', '-y', '-qq', '--no-install-recommends', 'buildah', 'containerd', 'runc'],
      ],
      line: 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends buildah containerd runc',
      manual: [],
    });
  });
  it('nothing missing: nothing to do', () => {
    expect(installPlan([], debian12)).toEqual({ kind: 'none' });
    expect(installPlan([], { root: false, apt: false })).toEqual({ kind: 'none' });
  });
  it('not root: stop with the exact command to run as root', () => {
    const plan = installPlan(missing, { ...debian12, root: false });
    expect(plan).toMatchObject({
      kind: 'stop',
      reason: 'installing needs root',
      line: 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends buildah containerd runc',
    });
  });
  it("not Debian or Ubuntu: stop naming Debian's packages, no apt line; Ubuntu and Debian derivatives install", () => {
    const plan = installPlan(missing, { root: true, apt: false, os: { id: 'fedora', like: [], version: 41 } });
    expect(plan.kind).toBe('stop');
    expect(plan).not.toHaveProperty('line');
    expect(plan.kind === 'stop' && plan.reason).toBe(
      "not Debian or Ubuntu (fedora): install what provides them (Debian's packages: buildah containerd runc)",
    );
    expect(installPlan(missing, { ...debian12, os: { id: 'ubuntu', like: ['debian'], version: 24.04 } }).kind).toBe(
      'install',
    );
    expect(
      installPlan(missing, { ...debian12, os: { id: 'linuxmint', like: ['ubuntu', 'debian'], version: 22 } }).kind,
    ).toBe('install');
    expect(installPlan(missing, { ...debian12, apt: false })).toMatchObject({
      kind: 'stop',
      reason: 'apt-get is not on PATH',
    });
  });
  it("Go: apt's golang-go only where it can fetch the pinned toolchain (Debian 13, Ubuntu 24.04); on Debian 12 the go.dev tarball", () => {
    const go = byName('go');
    const on12 = installPlan([go, byName('runc')], debian12);
    expect(on12).toMatchObject({ kind: 'install', packages: ['runc'] });
    expect(on12.kind === 'install' && on12.manual).toEqual([
      { name: 'go', how: expect.stringContaining(`https://go.dev/dl/${goToolchain}.linux-`) },
    ]);
    expect(installPlan([go], debian12)).toMatchObject({ kind: 'stop', reason: 'apt cannot provide them here' });
    expect(installPlan([go], { ...debian12, os: { id: 'debian', like: [], version: 13 } })).toMatchObject({
      kind: 'install',
      packages: ['golang-go'],
      manual: [],
    });
    expect(installPlan([go], { ...debian12, os: { id: 'ubuntu', like: ['debian'], version: 22.04 } }).kind).toBe(
      'stop',
    );
  });
  it('consent: --dry-run shows; --yes or the agreeing setting installs; a terminal asks; else stop', () => {
    const c = (o: Partial<Parameters<typeof installConsent>[0]>) =>
      installConsent({ dryRun: false, yes: false, agreed: false, tty: false, ...o });
    expect(c({ dryRun: true, yes: true, agreed: true })).toBe('show');
    expect(c({ yes: true })).toBe('install');
    expect(c({ agreed: true })).toBe('install');
    expect(c({ tty: true })).toBe('ask');
    expect(c({})).toBe('stop');
  });
  it('the finding names each missing command with its package, grouped by package', () => {
    expect(missingLine(missing)).toBe('containerd, ctr (containerd); runc (runc); buildah (buildah)');
    expect(notInstalled('runc')).toBe('runc is not installed (Debian package runc: apt-get install runc)');
  });
  it('versions: new enough; an older Go 1.21+ is usable (it fetches the toolchain); older is a problem', () => {
    expect(judgeVersion(byName('go'), goMin)).toEqual({ ok: true });
    expect(judgeVersion(byName('go'), '1.24.3')).toEqual({ ok: true, usable: true });
    expect(judgeVersion(byName('go'), '1.19.8')).toEqual({
      ok: false,
      problem: `version 1.19.8 is older than ${goMin} (and, older than 1.21.0, cannot fetch a newer toolchain itself)`,
    });
    expect(judgeVersion(byName('python3'), '3.9.2')).toEqual({
      ok: false,
      problem: 'version 3.9.2 is older than 3.11.0',
    });
  });
});

describe('checking this machine', () => {
  const made: string[] = [];
  afterAll(() => {
    for (const d of made) fs.rmSync(d, { recursive: true, force: true });
  });
  /** A PATH of one directory with stand-in `go` and `python3` printing the given versions. */
  function standins(goVersion: string): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'todo-ops-prereqs-'));
    made.push(dir);
    const script = (name: string, body: string) => {
      fs.writeFileSync(path.join(dir, name), `#!/bin/sh\n${body}\n`, { mode: 0o755 });
    };
    script('go', `echo "go version go${goVersion} linux/amd64"`);
    script('python3', 'echo "Python 3.11.2"');
    return dir;
  }
  it('a command not on PATH is missing; versions are read from the command itself', async () => {
    const dir = standins('1.24.3');
    const [go, containerd, py] = await checkPrereqs([byName('go'), byName('containerd'), byName('python3')], {
      PATH: dir,
    });
    expect(go).toMatchObject({
      ok: true,
      version: '1.24.3',
      note: expect.stringContaining(`GOTOOLCHAIN=${goToolchain}`),
    });
    expect(containerd).toMatchObject({ ok: false, problem: 'not found on PATH' });
    expect(py).toMatchObject({ ok: true, version: '3.11.2' });
    const [old] = await checkPrereqs([byName('go')], { PATH: standins('1.19.8') });
    expect(old).toMatchObject({ ok: false, version: '1.19.8' });
  });
  it('files with a wildcard segment: found when one matches', async () => {
    const [cni] = await checkPrereqs([{ ...byName('CNI plugins'), files: ['/usr/lib/*/nonexistent-todo-ops'] }]);
    expect(cni).toMatchObject({ ok: false, problem: 'missing /usr/lib/*/nonexistent-todo-ops' });
    const [etc] = await checkPrereqs([{ ...byName('CNI plugins'), files: ['/e*c/host*'] }]);
    expect(etc!.ok).toBe(true);
  });
  it("a warm check of the tests' whole list takes well under two seconds", async () => {
    const t0 = Date.now();
    await checkPrereqs(prereqsFor('tests'));
    expect(Date.now() - t0).toBeLessThan(2000);
  });
});
