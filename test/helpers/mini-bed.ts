// A second, bare control plane (etcd + kube-apiserver only, same cached
// binaries as the test bed) for states the shared bed must never be put in:
// no Ready node, no metrics API. Nothing reconciles nodes here (no kwok, no
// controller-manager), so a test sets node conditions itself. Starts in a few
// seconds; each test file that uses it deletes it afterwards.
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { $ } from 'zx';
import { parse } from 'dotenv';
import { binDir, bedDir } from '../../scripts/lib/local-cluster/cluster.ts';

const kubeVersion = parse(
  fs.readFileSync(path.resolve(import.meta.dirname, '../../scripts/lib/local-cluster/versions.env')),
).KUBE_VERSION!;

export interface MiniBed {
  kubeconfig: string;
  env: NodeJS.ProcessEnv;
  /** kubectl against the mini bed, output captured */
  kubectl(args: string[], input?: string): Promise<string>;
  down(): Promise<void>;
}

export async function miniBed(name = `todo-ops-mini-${process.pid}`): Promise<MiniBed> {
  const dir = path.join(path.dirname(bedDir), name);
  fs.mkdirSync(dir, { recursive: true });
  const kubeconfig = path.join(dir, 'kubeconfig');
  const env = {
    ...process.env,
    PATH: `${binDir}${path.delimiter}${process.env.PATH}`,
    KWOK_WORKDIR: path.join(dir, 'kwok'),
    KUBECONFIG: kubeconfig,
  };
  const bin = (n: string) => path.join(binDir, n);
  const cfg = path.join(dir, 'kwokctl.yaml');
  fs.writeFileSync(
    cfg,
    YAML.stringify({
      apiVersion: 'config.kwok.x-k8s.io/v1alpha1',
      kind: 'KwokctlConfiguration',
      options: {
        runtime: 'binary',
        kubeVersion,
        bindAddress: '127.0.0.1',
        kubeApiserverBinary: bin('kube-apiserver'),
        etcdBinary: bin('etcd'),
      },
    }),
  );
  await $({
    env,
    quiet: true,
  })`kwokctl --name ${name} --config ${cfg} create cluster --components etcd,kube-apiserver --kubeconfig ${kubeconfig} --wait 2m`;
  const kubectl = async (args: string[], input?: string) =>
    (await $({ env, quiet: true, input })`kubectl ${args}`).stdout;
  return {
    kubeconfig,
    env,
    kubectl,
    async down() {
      await $({ env, quiet: true, nothrow: true })`kwokctl --name ${name} delete cluster --kubeconfig ${kubeconfig}`;
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A Node object; `ready` sets its Ready condition through the status subresource. */
export async function addNode(bed: MiniBed, name: string, ready: boolean): Promise<void> {
  await bed.kubectl(
    ['apply', '-f', '-'],
    JSON.stringify({ apiVersion: 'v1', kind: 'Node', metadata: { name, labels: { 'kubernetes.io/hostname': name } } }),
  );
  const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const cond = {
    type: 'Ready',
    status: ready ? 'True' : 'False',
    reason: ready ? 'KubeletReady' : 'KubeletNotReady',
    message: ready ? 'ok' : 'container runtime is down',
    lastHeartbeatTime: now,
    lastTransitionTime: now,
  };
  await bed.kubectl([
    'patch',
    'node',
    name,
    '--subresource=status',
    '--type=merge',
    '-p',
    JSON.stringify({ status: { conditions: [cond] } }),
  ]);
}
