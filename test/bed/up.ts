#!/usr/bin/env -S npx zx
// npm run cluster:up — starts (or reuses) the kwok test bed and prints its kubeconfig path.
import { up } from './bed.ts';

const { kubeconfig } = await up((m) => process.stderr.write(`${m}\n`));
process.stderr.write(`use it with: export KUBECONFIG=${kubeconfig}\n`);
process.stdout.write(`${kubeconfig}\n`);
