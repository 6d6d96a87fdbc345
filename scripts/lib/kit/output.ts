// Output for people (tables, colour, a spinner on a TTY), for cron (plain
// lines) and for machines (exactly one JSON document on stdout).
import { chalk, spinner } from 'zx';

export type Format = 'text' | 'json';
const secrets = new Set<string>();
/** Every form of every secret that scrub() replaces, longest first. */
let forms: string[] = [];

/**
 * The forms a secret takes in output besides itself: JSON-escaped (output.json
 * scrubs the serialized document), URL-encoded (encodeURIComponent and form
 * encoding: connection strings, query strings), and base64, standard and
 * url-safe, with and without padding (Secret data, basic-auth headers, docker
 * config). A secret base64-encoded together with other bytes (`user:password`)
 * lands at one of three bit alignments; for each, the characters that depend
 * on the secret's bytes alone are scrubbed, which leaves at most one character
 * at each end, the one that mixes in a neighbour's bits. Not caught: base64 wrapped
 * over lines (`base64` wraps at 76 columns), double encodings, hashes, and any
 * other transformation of the value.
 */
export function secretForms(value: string): string[] {
  const out = new Set<string>([value]);
  const add = (s: string) => s.length >= 4 && out.add(s);
  add(JSON.stringify(value).slice(1, -1));
  add(encodeURIComponent(value));
  add(new URLSearchParams({ v: value }).toString().slice(2));
  const bytes = Buffer.from(value, 'utf8');
  for (const b64 of [bytes.toString('base64'), bytes.toString('base64url')]) {
    add(b64); // base64url has no padding; base64 has it when the length is not a multiple of 3
    add(b64.replace(/=+$/, ''));
  }
  for (const offset of [0, 1, 2]) {
    const b64 = Buffer.concat([Buffer.alloc(offset), bytes]).toString('base64');
    // Character i covers bits [6i, 6i+6): keep those inside the secret's bits [8*offset, 8*(offset+n)).
    const core = b64.slice(Math.ceil((8 * offset) / 6), Math.floor((8 * (offset + bytes.length)) / 6));
    // Short cores would also match ordinary text: only long enough ones are scrubbed.
    if (core.length >= 8) {
      add(core);
      add(core.replace(/\+/g, '-').replace(/\//g, '_'));
    }
  }
  return [...out];
}

/** Registers a value that must never appear in output, in any of its encoded forms (secretForms); every writer here scrubs it. */
export function addSecret(value: string | undefined): void {
  if (!value || value.length < 4 || secrets.has(value)) return;
  secrets.add(value);
  // Longest first: a form that contains another is replaced whole.
  forms = [...new Set([...forms, ...secretForms(value)])].sort((a, b) => b.length - a.length);
}
export function scrub(text: string): string {
  let out = text;
  for (const f of forms) if (out.includes(f)) out = out.split(f).join('***');
  return out;
}

export type Cell = string | number | boolean | null | undefined;
import type { Level } from './result.ts';

export type { Level };
const mark: Record<Level, (s: string) => string> = {
  ok: chalk.green,
  warn: chalk.yellow,
  fail: chalk.red,
  info: chalk.cyan,
};

export function colourLevel(level: Level): string {
  return mark[level](level.toUpperCase());
}

/** A plain, aligned table; colour only when the terminal takes it (chalk decides). */
export function table(rows: Record<string, Cell>[], columns: string[]): string {
  // eslint-disable-next-line no-control-regex
  const visible = (s: string) => s.replace(/\u001b\[[0-9;]*m/g, '').length;
  const cells = rows.map((r) => columns.map((c) => String(r[c] ?? '')));
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((r) => visible(r[i]!))));
  const line = (vals: string[]) =>
    vals.map((v, i) => (i === vals.length - 1 ? v : v + ' '.repeat(widths[i]! - visible(v)))).join('  ');
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
