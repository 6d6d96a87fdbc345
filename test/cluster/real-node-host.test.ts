// The bed's isolation promise, on a throwaway bed of its own (its own name, so
// the shared bed keeps running): while it runs, the host's interfaces, iptables
// rules, kernel settings and mounts are those of before, and the bed's
// processes, namespace and cgroups exist; after `npm run cluster:down`, nothing
// of it is left. A real pod runs on it (the pause image: sandbox, veth, pod
// cgroups) so that teardown has containers to remove.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { $ } from 'zx';
import { pauseRef } from '../../scripts/lib/local-cluster/images.ts';
import { binDir, cacheRoot } from '../../scripts/lib/local-cluster/layout.ts';
import { assertSuccess, run } from '../helpers/run.ts';

const name = `${process.env.TODO_OPS_BED_NAME ?? 'todo-ops-bed'}-hostcheck`.slice(0, 40);
const dir = path.join(cacheRoot, 'bed', name);
const env = { TODO_OPS_BED_NAME: name, TODO_OPS_BED_IMAGES: 'pause', TODO_OPS_BED_DIR: dir };
const cgroupName = `todo-ops-bed_${name}`;
const kubectl = (args: string[]) =>
  $({
    env: { ...process.env, KUBECONFIG: path.join(dir, 'kubeconfig'), PATH: `${binDir}:${process.env.PATH}` },
    quiet: true,
  })`kubectl ${args}`;

const tunables = [
  'vm/overcommit_memory',
  'vm/panic_on_oom',
  'kernel/panic',
  'kernel/panic_on_oops',
  'kernel/keys/root_maxkeys',
  'kernel/keys/root_maxbytes',
];

/** What the host looks like: everything the bed must not change. */
async function hostView() {
  const ipt = async (table: string) => (await $({ quiet: true })`iptables -w -t ${table} -S`).stdout;
  return {
    links: (await $({ quiet: true })`ip -o link show`).stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split(':')[1]!.trim().split('@')[0])
      .sort(),
    routes: (await $({ quiet: true })`ip route show`).stdout,
    iptables: { filter: await ipt('filter'), nat: await ipt('nat'), mangle: await ipt('mangle') },
    sysctls: Object.fromEntries(tunables.map((t) => [t, fs.readFileSync(`/proc/sys/${t}`, 'utf8').trim()])),
    bedMounts: fs
      .readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .filter((l) => l.includes(dir)),
  };
}

function netnsMembers(netns: string): number[] {
  return fs
    .readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e))
    .filter((e) => {
      try {
        return fs.readlinkSync(`/proc/${e}/ns/net`) === netns;
      } catch {
        return false;
      }
    })
    .map(Number);
}

/** Processes whose command line names the bed's directory (containerd, kubelet, relays, control plane). */
function namingBed(): number[] {
  return fs
    .readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e) && Number(e) !== process.pid)
    .filter((e) => {
      try {
        return fs.readFileSync(`/proc/${e}/cmdline`, 'utf8').includes(dir);
      } catch {
        return false;
      }
    })
    .map(Number);
}

const cgroups = () =>
  fs.readdirSync('/sys/fs/cgroup').filter((c) => fs.existsSync(path.join('/sys/fs/cgroup', c, cgroupName)));

describe('a bed leaves the host as it found it', () => {
  let before: Awaited<ReturnType<typeof hostView>>;
  let netns = '';

  beforeAll(async () => {
    await run('test/bed/down.ts', [], { env }); // a leftover from an interrupted run
    before = await hostView();
  }, 120_000);

  afterAll(async () => {
    await run('test/bed/down.ts', [], { env });
    // Its image cache too: this bed's name is used by this test only.
    fs.rmSync(path.join(cacheRoot, 'node-cache', name), { recursive: true, force: true });
    fs.rmSync(dir, { recursive: true, force: true });
  }, 120_000);

  it('npm run cluster:up starts it; a real pod runs; the host sees none of its network, mounts or kernel settings', async () => {
    const r = await run('test/bed/up.ts', [], { env, timeoutMs: 600_000 });
    assertSuccess(r);
    expect(r.stderr).toContain('npm run -s cluster:exec --');
    const state = JSON.parse(fs.readFileSync(path.join(dir, 'state.json'), 'utf8')) as { netns: string };
    netns = state.netns;
    expect(netnsMembers(netns).length).toBeGreaterThan(5);
    expect(cgroups().length).toBeGreaterThan(3);
    await kubectl([
      'run',
      'sleeper',
      '-n',
      'default',
      '--image',
      pauseRef,
      '--image-pull-policy',
      'Never',
      '--overrides',
      JSON.stringify({
        spec: { nodeSelector: { type: 'real' }, tolerations: [{ key: 'todo-ops.test/real-node', operator: 'Exists' }] },
      }),
    ]);
    await kubectl(['wait', '-n', 'default', '--for=condition=Ready', 'pod/sleeper', '--timeout=90s']);
    // Inside: the bridge and the pod's veth; outside: nothing new.
    const links = await run('test/bed/exec.ts', ['ip', '-o', 'link', 'show'], { env });
    assertSuccess(links);
    expect(links.stdout).toContain('cni0');
    expect(links.stdout).toMatch(/veth/);
    const during = await hostView();
    expect(during).toEqual(before);
    expect(fs.readdirSync(path.join('/sys/fs/cgroup/memory', cgroupName))).toContain('kubepods');
  });

  it('npm run cluster:down leaves no process, mount, interface, iptables rule, cgroup or kernel setting behind', async () => {
    expect(netns).not.toBe('');
    const r = await run('test/bed/down.ts', [], { env, timeoutMs: 120_000 });
    assertSuccess(r);
    expect(netnsMembers(netns)).toEqual([]);
    expect(namingBed()).toEqual([]);
    expect(cgroups()).toEqual([]);
    expect(await hostView()).toEqual(before);
    expect(fs.existsSync(path.join(dir, 'node'))).toBe(false);
  });
});
