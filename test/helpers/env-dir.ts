// Scripts read and write env/ (TODO_ENV_DIR): each test gets a copy of its own so none touches the repo's or another's.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { bedDir, binDir, toolsDir } from '../../scripts/lib/local-cluster/layout.ts';
import { repoRoot, scratchEnv } from './run.ts';

/**
 * Creates `<parent>/env` with the repo's `env/<profile>.env` for each profile, optionally
 * `<first profile>.values.local.yaml` and `.env.local` (mode 600), and returns its path.
 */
export function makeEnvDir(
  parent: string,
  o: { profiles?: string[]; values?: string; envLocal?: string } = {},
): string {
  const profiles = o.profiles ?? ['testbed'];
  const dir = path.join(parent, 'env');
  fs.mkdirSync(dir);
  for (const p of profiles) fs.copyFileSync(path.join(repoRoot, `env/${p}.env`), path.join(dir, `${p}.env`));
  if (o.values !== undefined) fs.writeFileSync(path.join(dir, `${profiles[0]}.values.local.yaml`), o.values);
  if (o.envLocal !== undefined) fs.writeFileSync(path.join(dir, '.env.local'), o.envLocal, { mode: 0o600 });
  return dir;
}

/**
 * A newcomer's shell: their own HOME (so ~/.kube/config and the data are theirs) and env files, no
 * KUBECONFIG, and no PATH entry for the tools the cluster built (the scripts must find them on their
 * own); the running bed, its tools and the image store stay the machine's (under the real HOME).
 */
export function userShellEnv(home: string, envDir: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    ...scratchEnv({ TODO_PROFILE: undefined, TODO_ENV_DIR: envDir }),
    HOME: home,
    KUBECONFIG: undefined,
    PATH: (process.env.PATH ?? '')
      .split(path.delimiter)
      .filter((d) => path.resolve(d) !== binDir)
      .join(path.delimiter),
    TODO_OPS_BED_DIR: bedDir,
    TODO_OPS_TOOLS_DIR: toolsDir,
    IMAGE_TEST_CACHE: process.env.IMAGE_TEST_CACHE ?? path.join(os.homedir(), '.cache/todo-chatbot-ops/images'),
    NPM_CONFIG_UPDATE_NOTIFIER: 'false',
    ...extra,
  };
}
