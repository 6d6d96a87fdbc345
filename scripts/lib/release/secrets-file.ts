// Which env file keeps a secret deploy or config generates for a profile: the
// local file that already sets it; else the profile's own local file
// (env/<profile>.env.local) when the profile has one; else env/.env.local,
// which every profile reads. What the secrets step writes and names.
import fs from 'node:fs';
import path from 'node:path';
import { secretsFileFor } from '../kit/env-files.ts';
import { envDir } from '../kit/env.ts';

const sets = (f: string, key: string) =>
  fs.existsSync(f) && new RegExp(`^\\s*(export\\s+)?${key}\\s*=`, 'm').test(fs.readFileSync(f, 'utf8'));

/** The local env file that sets the key, if one does (else it came from the environment). */
export function fileSetting(profile: string, key: string): string | undefined {
  const found = secretsFileFor(profile, key);
  return sets(found, key) ? found : undefined;
}

export function profileSecretsFile(profile: string, key: string): string {
  const found = fileSetting(profile, key);
  if (found) return found;
  const own = path.join(envDir(), `${profile}.env.local`);
  return fs.existsSync(own) ? own : secretsFileFor(profile, key);
}
