// The two README commands on a machine that lacks containerd, runc and buildah
// (a PATH of symlinks to everything else): `bootstrap --target local` stops at
// its doctor step, exit 2, naming each missing command and its package with
// the apt-get line, and starts nothing; the tests' set-up step (the first
// step of `npm test`) does the same. Neither may install here: no --yes, no
// TODO_BOOTSTRAP_INSTALL, no CI or TODO_OPS_TEST_INSTALL, no terminal. Needs
// no cluster: both stop before one would start.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cacheRoot } from '../../scripts/lib/local-cluster/layout.ts';
import { assertFailure, assertSuccess, run, scratchEnv } from '../helpers/run.ts';

const hidden = ['containerd', 'runc', 'buildah'];
const aptLine =
  'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends buildah containerd runc';

const made: string[] = [];
afterAll(() => {
  for (const d of made) fs.rmSync(d, { recursive: true, force: true });
});

/** A directory of symlinks to every command on PATH but the hidden ones. */
function pathWithout(names: readonly string[]): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'todo-ops-path-'));
  made.push(dir);
  // The first PATH entry with a name wins, as for the shell (a dangling link included: existsSync would not see it).
  const linked = new Set<string>(names);
  for (const d of (process.env.PATH ?? '').split(path.delimiter)) {
    let entries: string[];
    try {
      entries = fs.readdirSync(d);
    } catch {
      continue;
    }
    for (const n of entries)
      if (!linked.has(n)) {
        linked.add(n);
        fs.symlinkSync(path.join(d, n), path.join(dir, n));
      }
  }
  return dir;
}

/** The environment of a run that may not install anything. */
function noInstallEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    ...scratchEnv(),
    PATH: pathWithout(hidden),
    CI: undefined,
    TODO_OPS_TEST_INSTALL: undefined,
    TODO_BOOTSTRAP_INSTALL: undefined,
    ...extra,
  };
}
const rootOnDebian =
  process.getuid?.() === 0 && /^ID(_LIKE)?=.*\b(debian|ubuntu)\b/m.test(fs.readFileSync('/etc/os-release', 'utf8'));

describe('bootstrap --target local on a machine without containerd, runc and buildah', () => {
  const bed = `prereq-test-${process.pid}`;

  it('stops at doctor, exit 2, with one line naming each missing command and its package, and starts nothing', async () => {
    const env = noInstallEnv({ TODO_OPS_BED_NAME: bed });
    const r = await run('scripts/bootstrap.ts', ['--target', 'local', '-o', 'json'], { env });
    assertFailure(r, 2);
    const doc = r.json<{
      findings: { name: string; level: string; detail: string; hint?: string }[];
      data: {
        steps: { name: string; status: string; results?: unknown[] }[];
        prerequisites: { missing: { name: string; package: string }[] };
      };
    }>();
    const step = doc.findings.find((f) => f.name === 'step doctor')!;
    expect(step.level).toBe('fail');
    expect(step.detail).toBe('missing system prerequisites: containerd (containerd); runc (runc); buildah (buildah)');
    // The exact command, whether this run could have installed (root on Debian) or not.
    expect(step.hint).toContain(aptLine);
    expect(doc.data.prerequisites.missing).toEqual([
      { name: 'containerd', package: 'containerd', problem: 'not found on PATH' },
      { name: 'runc', package: 'runc', problem: 'not found on PATH' },
      { name: 'buildah', package: 'buildah', problem: 'not found on PATH' },
    ]);
    // Nothing ran after it: not doctor's child, not the cluster step, no bed.
    expect(doc.data.steps[0]).toMatchObject({ name: 'doctor', status: 'failed' });
    expect(doc.data.steps[0]!.results).toBeUndefined();
    expect(doc.data.steps.slice(1).every((s) => s.status === 'skipped')).toBe(true);
    expect(fs.existsSync(path.join(cacheRoot, 'bed', bed))).toBe(false);
    expect(r.stderr).not.toMatch(/No such file or directory|ENOENT|\n\s+at /);
  });

  it('text: the failure and the command to run, no stack trace', async () => {
    const r = await run('scripts/bootstrap.ts', ['--target', 'local'], {
      env: noInstallEnv({ TODO_OPS_BED_NAME: bed }),
    });
    assertFailure(r, 2);
    expect(r.stdout).toContain(
      'bootstrap stopped at step doctor: missing system prerequisites: containerd (containerd); runc (runc); buildah (buildah)',
    );
    expect(r.stdout).toContain(aptLine);
    expect(r.stdout).toContain('continue with: npx zx scripts/bootstrap.ts --target local --from doctor');
    expect(r.output).not.toMatch(/\n\s+at /);
  });

  it.runIf(rootOnDebian)(
    '--dry-run as root on Debian with TODO_BOOTSTRAP_INSTALL=1: the install is planned with its exact line, nothing run',
    async () => {
      const r = await run('scripts/bootstrap.ts', ['--target', 'local', '--dry-run', '-o', 'json'], {
        env: noInstallEnv({ TODO_OPS_BED_NAME: bed, TODO_BOOTSTRAP_INSTALL: '1' }),
      });
      assertSuccess(r);
      const doc = r.json<{ actions: { what: string; status: string; detail: string }[] }>();
      expect(doc.actions[0]).toMatchObject({ what: 'install system packages', status: 'planned', detail: aptLine });
      expect(doc.actions.find((a) => a.what === 'step doctor')!.detail).toMatch(/^would install: apt-get update/);
      expect(doc.actions.every((a) => a.status === 'planned')).toBe(true);
      expect(fs.existsSync(path.join(cacheRoot, 'bed', bed))).toBe(false);
    },
  );
});

describe("the tests' set-up step (npm run test:setup) on the same machine", () => {
  it('stops, exit 2, naming each missing command, its package and the command; the frontend is not touched', async () => {
    const r = await run('scripts/lib/preflight/test-setup.ts', [], { env: noInstallEnv() });
    assertFailure(r, 2);
    expect(r.stderr).toContain(
      'test setup: missing system prerequisites: containerd (containerd); runc (runc); buildah (buildah)',
    );
    expect(r.stderr).toContain(aptLine);
    expect(r.stderr).toMatch(/CI=true or TODO_OPS_TEST_INSTALL=1/);
    expect(r.stderr).not.toMatch(/npm ci|\n\s+at /);
  });
  it.runIf(rootOnDebian)('--dry-run with CI=true: says what it would install, exit 0, installs nothing', async () => {
    const r = await run('scripts/lib/preflight/test-setup.ts', ['--dry-run'], { env: noInstallEnv({ CI: 'true' }) });
    assertSuccess(r);
    expect(r.stderr).toContain(`would run: ${aptLine}`);
  });
  it('with everything present: ready, and quick', async () => {
    const r = await run('scripts/lib/preflight/test-setup.ts', ['--dry-run'], { env: scratchEnv() });
    assertSuccess(r);
    const m = /test setup: (\d+) prerequisites present; frontend node_modules (current|.*) \((\d+\.\d) s\)/.exec(
      r.stderr,
    );
    expect(m, r.stderr).not.toBeNull();
    expect(Number(m![3])).toBeLessThan(2);
  });
});
