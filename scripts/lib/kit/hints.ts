// A hint is a command the user can paste: it must reach the same profile,
// kubeconfig, context and namespace as the run that printed it. Each suite
// command in a hint (npx zx scripts/X.ts, ops/X.ts) gets the run's own kit
// flags, unless that command already says them.
import type { Context } from './cli.ts';

type Given = Context['given'];

const flagsOf: [keyof Given, string, RegExp][] = [
  ['profile', '-p', /(^|\s)(-p|--profile)(\s|=)/],
  ['kubeconfig', '--kubeconfig', /(^|\s)--kubeconfig(\s|=)/],
  ['context', '--context', /(^|\s)--context(\s|=)/],
  ['namespace', '-n', /(^|\s)(-n|--namespace)(\s|=)/],
];

/** A word as a shell reads it back: bare when it is safe, else single-quoted. */
export const quote = (v: string) => (/^[\w@%+=:,./-]+$/.test(v) ? v : `'${v.replace(/'/g, `'\\''`)}'`);

/** The hint with the given flags added after each suite command's path (up to the next ; && || | or end). */
export function carryFlags(hint: string, given: Given): string {
  if (!Object.values(given).some((v) => v !== undefined)) return hint;
  return hint.replace(/(npx zx (?:\.\/)?(?:scripts|ops)\/[\w-]+\.ts)([^;&|]*)/g, (_all, cmd: string, rest: string) => {
    const add = flagsOf
      .filter(([k, , present]) => given[k] !== undefined && !present.test(rest))
      .map(([k, flag]) => `${flag} ${quote(given[k]!)}`);
    return add.length ? `${cmd} ${add.join(' ')}${rest}` : `${cmd}${rest}`;
  });
}
