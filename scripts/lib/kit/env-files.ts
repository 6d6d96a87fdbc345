// Writing the env files that keep settings and secrets (reading them is env.ts):
// the text of a KEY=VALUE line, a key set or removed in place, which local file
// keeps a secret, and paths shown as the user would type them.
import fs from 'node:fs';
import path from 'node:path';
import { envDir, repoRoot } from './env.ts';

/** A value as it can be written to an env file, or an Error when it cannot be written safely. */
function envLine(key: string, value: string): string {
  if (/[\r\n]/.test(value)) throw new Error(`${key}: multi-line values are not supported`);
  if (/^[A-Za-z0-9_\-.:/@+=,%~^]*$/.test(value)) return `${key}=${value}`;
  if (!value.includes("'")) return `${key}='${value}'`;
  if (!/["\\$`]/.test(value)) return `${key}="${value}"`;
  throw new Error(`${key}: a value with both quote kinds cannot be written to an env file`);
}

/** The env file text with KEY set (its line replaced in place, or appended), or removed when value is undefined. */
export function editEnvText(text: string, key: string, value: string | undefined): string {
  const lines = text === '' ? [] : text.replace(/\n$/, '').split('\n');
  const re = new RegExp(`^\\s*(export\\s+)?${key}\\s*=`);
  const idx = lines.findIndex((l) => re.test(l));
  if (value === undefined) {
    if (idx >= 0) lines.splice(idx, 1);
  } else if (idx >= 0) lines[idx] = envLine(key, value);
  else lines.push(envLine(key, value));
  return lines.length ? `${lines.join('\n')}\n` : '';
}

/**
 * The file that keeps a secret for this profile: the local file that already
 * sets it (the last one wins, as when loading), else <envDir>/.env.local.
 * Never the committed profile file.
 */
export function secretsFileFor(profile: string, key: string): string {
  const dir = envDir();
  const candidates = [path.join(dir, `${profile}.env.local`), path.join(dir, '.env.local')];
  for (const f of candidates)
    if (fs.existsSync(f) && new RegExp(`^\\s*(export\\s+)?${key}\\s*=`, 'm').test(fs.readFileSync(f, 'utf8'))) return f;
  return path.join(dir, '.env.local');
}

/** Sets (or removes) KEY in an env file, private (0600), keeping every other line. */
export function writeEnvKey(file: string, key: string, value: string | undefined): void {
  const text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, editEnvText(text, key, value), { mode: 0o600 });
  fs.chmodSync(file, 0o600);
}

/** A path as the user would type it: relative to the repo when inside it. */
export const shown = (file: string) => {
  const rel = path.relative(repoRoot, file);
  return rel.startsWith('..') ? file : rel;
};
