// What to do about missing prerequisites, pure and unit-tested: the exact
// apt-get line for what apt can provide on this machine, what it cannot (Go on
// Debian 12), and whether this run may install at all (root on Debian or
// Ubuntu) or must stop with the command for the user to run. Whether the
// user agreed is decided here too; system.ts applies the plan.
import type { Prereq } from './prereqs.ts';
import { compareVersions } from '../kit/tools.ts';

export interface PrereqStatus {
  prereq: Prereq;
  ok: boolean;
  /** where the command was found */
  path?: string;
  version?: string;
  /** why it is not usable: "not found on PATH", "version 1.19.8 is older than 1.21.0" */
  problem?: string;
  /** usable, with a remark (an older Go fetches the pinned toolchain) */
  note?: string;
}

export interface Machine {
  root: boolean;
  /** from /etc/os-release */
  os?: { id: string; like: readonly string[]; version?: number };
  /** apt-get is on PATH */
  apt: boolean;
}

export type InstallPlan =
  | { kind: 'none' }
  | {
      kind: 'install';
      packages: string[];
      /** run in order, as root, with DEBIAN_FRONTEND=noninteractive */
      commands: string[][];
      /** the exact command line, shown before it runs */
      line: string;
      /** missing ones apt cannot provide here: the run still stops after the install */
      manual: Manual[];
    }
  | {
      kind: 'stop';
      reason: string;
      /** the command to run as root, when apt can provide them */
      line?: string;
      packages: string[];
      manual: Manual[];
    };
interface Manual {
  name: string;
  how: string;
}

const aptEnv = 'DEBIAN_FRONTEND=noninteractive';

/** The two commands that install packages, and the one line that shows them. */
function aptCommands(packages: readonly string[]): { commands: string[][]; line: string } {
  const install = ['apt-get', 'install', '-y', '-qq', '--no-install-recommends', ...packages];
  const update = ['apt-get', 'update', '-qq'];
  return { commands: [update, install], line: `${update.join(' ')} && ${aptEnv} ${install.join(' ')}` };
}

function debianLike(m: Machine): boolean {
  return Boolean(m.os && (m.os.id === 'debian' || m.os.id === 'ubuntu' || m.os.like.includes('debian')));
}

/** apt on this release provides a version that works (golang-go: only from Debian 13 / Ubuntu 24.04). */
function aptProvides(p: Prereq, m: Machine): boolean {
  if (!p.aptFrom) return true;
  const from = p.aptFrom[m.os?.id as 'debian' | 'ubuntu'];
  return from !== undefined && m.os?.version !== undefined && m.os.version >= from;
}

const unique = (xs: readonly string[]) => [...new Set(xs)].sort();

/** Missing prerequisites -> what this machine does about them. */
export function installPlan(missing: readonly Prereq[], m: Machine): InstallPlan {
  if (!missing.length) return { kind: 'none' };
  const debian = debianLike(m);
  const byApt = missing.filter((p) => !debian || aptProvides(p, m));
  const manual = missing
    .filter((p) => !byApt.includes(p))
    .map((p) => ({ name: p.name, how: p.manual ?? `install ${p.name}` }));
  const packages = unique(byApt.map((p) => p.package));
  const apt = packages.length ? aptCommands(packages) : undefined;
  if (!debian)
    return {
      kind: 'stop',
      reason: `not Debian or Ubuntu${m.os ? ` (${m.os.id})` : ''}: install what provides them (Debian's packages: ${packages.join(' ')})`,
      packages,
      manual,
    };
  if (!apt) return { kind: 'stop', reason: 'apt cannot provide them here', packages, manual };
  if (!m.apt) return { kind: 'stop', reason: 'apt-get is not on PATH', line: apt.line, packages, manual };
  if (!m.root) return { kind: 'stop', reason: 'installing needs root', line: apt.line, packages, manual };
  return { kind: 'install', packages, commands: apt.commands, line: apt.line, manual };
}

export type Consent = 'install' | 'ask' | 'show' | 'stop';

/**
 * May this run install? --dry-run only shows; --yes, or the agreeing setting
 * (TODO_BOOTSTRAP_INSTALL=1, CI=true for the tests), agrees; a terminal asks;
 * anything else stops with the command to run.
 */
export function installConsent(o: { dryRun: boolean; yes: boolean; agreed: boolean; tty: boolean }): Consent {
  if (o.dryRun) return 'show';
  if (o.yes || o.agreed) return 'install';
  return o.tty ? 'ask' : 'stop';
}

/** "containerd, ctr (containerd); runc (runc)": each missing one with its package, grouped by package in list order. */
export function missingLine(missing: readonly Prereq[]): string {
  const groups = new Map<string, string[]>();
  for (const p of missing) groups.set(p.package, [...(groups.get(p.package) ?? []), p.name]);
  return [...groups].map(([pkg, names]) => `${names.join(', ')} (${pkg})`).join('; ');
}

/** A found version against the prerequisite's minimum: ok, usable (with the note), or the problem. */
export function judgeVersion(p: Prereq, version: string): { ok: boolean; problem?: string; usable?: boolean } {
  if (!p.min || compareVersions(version, p.min) >= 0) return { ok: true };
  if (p.usableFrom && compareVersions(version, p.usableFrom) >= 0) return { ok: true, usable: true };
  return {
    ok: false,
    problem: `version ${version} is older than ${p.min}${p.usableFrom ? ` (and, older than ${p.usableFrom}, cannot fetch a newer toolchain itself)` : ''}`,
  };
}
