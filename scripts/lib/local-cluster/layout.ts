// Where a test bed lives, derived from its name (TODO_OPS_BED_NAME), so that two
// beds (yours and a colleague's, or a test's throwaway one) never share a
// directory, a namespace, a cgroup, a kwokctl cluster or a port.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'dotenv';
import { toolsCacheDir } from '../kit/tools.ts';

export const bedSrc = import.meta.dirname;
export const versions = parse(fs.readFileSync(path.join(bedSrc, 'versions.env')));
export const cacheRoot = path.join(os.homedir(), '.cache', 'todo-chatbot-ops');
/** The kit's tool lookup falls back to the same directory (kit/tools.ts). */
export const toolsDir = toolsCacheDir();
export const binDir = path.join(toolsDir, 'bin');
export const bedName = process.env.TODO_OPS_BED_NAME ?? 'todo-ops-bed';
if (!/^[a-z0-9]([a-z0-9-]{0,40}[a-z0-9])?$/.test(bedName))
  throw new Error(`TODO_OPS_BED_NAME must be a short DNS label, got "${bedName}"`);
export const bedDir = process.env.TODO_OPS_BED_DIR ?? path.join(cacheRoot, 'bed', bedName);
export const kubeconfigPath = path.join(bedDir, 'kubeconfig');
export const kwokWorkdir = path.join(bedDir, 'kwok');
/** The kwokctl cluster's own files: component logs, pki (ca.crt, admin.crt, admin.key). */
export const clusterDir = path.join(kwokWorkdir, 'clusters', bedName);
/** The real node's runtime files (configs, logs, sockets, volumes): removed by down(). */
export const nodeDir = path.join(bedDir, 'node');
/** Kept across up/down: containerd's content store, so a warm up imports no image. */
export const nodeCacheDir = path.join(cacheRoot, 'node-cache', bedName);
/** The bed's cgroup under every v1 controller (kubelet's cgroupRoot). */
export const cgroupName = `todo-ops-bed_${bedName}`;
export const statePath = path.join(bedDir, 'state.json');
