// Scripts read and write env/ (TODO_ENV_DIR): each test gets a copy of its own so none touches the repo's or another's.
import fs from 'node:fs';
import path from 'node:path';
import { repoRoot } from './run.ts';

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
