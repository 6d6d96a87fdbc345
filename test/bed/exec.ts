#!/usr/bin/env -S npx zx
// npm run -s cluster:exec -- CMD ARGS — runs a command inside the test bed's
// network and mount namespaces, where pod and Service addresses route and
// cluster DNS answers (*.svc.cluster.local), with the bed's kubectl, helm and
// KUBECONFIG. Its exit status is the command's. Without a command: a shell.
import { spawnSync } from 'node:child_process';
import { inside, bedProcessEnv } from '../../scripts/lib/local-cluster/node.ts';

// argv: node, zx, this script, then the command (npm drops its own `--`; a second one is dropped here).
const args = process.argv.slice(process.argv.findIndex((a) => a.endsWith('exec.ts')) + 1);
if (args[0] === '--') args.shift();
let argv: string[];
try {
  argv = [...inside(), ...(args.length ? args : [process.env.SHELL || '/bin/bash'])];
} catch (e) {
  process.stderr.write(`${(e as Error).message}\n`);
  process.exit(1);
}
const r = spawnSync(argv[0]!, argv.slice(1), { stdio: 'inherit', env: bedProcessEnv() });
if (r.error) {
  process.stderr.write(`${r.error.message}\n`);
  process.exit(127);
}
process.exit(r.status ?? (r.signal ? 128 : 1));
