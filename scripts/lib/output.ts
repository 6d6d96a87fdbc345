// Output for people (tables, colour, a spinner on a TTY), for cron (plain
// lines) and for machines (exactly one JSON document on stdout).
import { chalk, spinner } from 'zx';

export type Format = 'text' | 'json';
const secrets = new Set<string>();

/** Registers a value that must never appear in output; every writer here scrubs it. */
export function addSecret(value: string | undefined): void {
  if (value && value.length >= 4) secrets.add(value);
}
export function scrub(text: string): string {
  let out = text;
  for (const s of secrets) out = out.split(s).join('***');
  return out;
}

export type Cell = string | number | boolean | null | undefined;
import type { Level } from './result.ts';

export type { Level };
const mark: Record<Level, (s: string) => string> = { ok: chalk.green, warn: chalk.yellow, fail: chalk.red, info: chalk.cyan };

export function colourLevel(level: Level): string {
  return mark[level](level.toUpperCase());
}

/** A plain, aligned table; colour only when the terminal takes it (chalk decides). */
export function table(rows: Record<string, Cell>[], columns: string[]): string {
  // eslint-disable-next-line no-control-regex
  const visible = (s: string) => s.replace(/\u001b\[[0-9;]*m/g, '').length;
  const cells = rows.map((r) => columns.map((c) => String(r[c] ?? '')));
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((r) => visible(r[i]!))));
  const line = (vals: string[]) => vals.map((v, i) => (i === vals.length - 1 ? v : v + ' '.repeat(widths[i]! - visible(v)))).join('  ');
  return [chalk.bold(line(columns.map((c) => c.toUpperCase()))), ...cells.map(line)].join('\n');
}

export class Output {
  readonly format: Format;
  readonly verbose: boolean;
  private readonly tty: boolean;
  constructor(format: Format, verbose = false, tty = Boolean(process.stderr.isTTY)) {
    this.format = format;
    this.verbose = verbose;
    this.tty = tty;
  }
  /** Human lines: stdout in text mode, stderr in JSON mode so stdout stays one document. */
  say(msg: string): void {
    (this.format === 'json' ? process.stderr : process.stdout).write(scrub(msg) + '\n');
  }
  debug(msg: string): void {
    if (this.verbose) process.stderr.write(chalk.gray(scrub(msg)) + '\n');
  }
  warn(msg: string): void {
    process.stderr.write(chalk.yellow('warning: ') + scrub(msg) + '\n');
  }
  /** Prints the machine document (JSON mode) — the last thing a script writes to stdout. */
  json(doc: unknown): void {
    process.stdout.write(scrub(JSON.stringify(doc, null, 2)) + '\n');
  }
  /** A long wait: a spinner on a TTY, a start and an end line otherwise (cron, CI, pipes). */
  async progress<T>(label: string, fn: () => Promise<T>): Promise<T> {
    const t0 = Date.now();
    const secs = () => ((Date.now() - t0) / 1000).toFixed(1);
    if (this.tty && this.format === 'text' && !process.env.CI) {
      const r = await spinner(label, fn);
      this.say(`${chalk.green('✓')} ${label} (${secs()}s)`);
      return r;
    }
    process.stderr.write(`${label} ...\n`);
    try {
      const r = await fn();
      process.stderr.write(`${label}: done in ${secs()}s\n`);
      return r;
    } catch (e) {
      process.stderr.write(`${label}: failed after ${secs()}s\n`);
      throw e;
    }
  }
}
