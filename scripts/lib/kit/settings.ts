// How a setting is declared. Each module owns the keys it reads and declares
// them here-style next to its code (lib modules export a `settings` object,
// scripts put theirs in their spec); env.ts assembles the schema from them.
// No dependencies: any module can import this without loading the others.

export type Parser<T> = (raw: string, key: string) => T;

export interface Setting<T = unknown> {
  parse: Parser<T>;
  default: T;
  help: string;
  /** never printed, logged, put on a command line or in a ConfigMap */
  secret?: boolean;
}
export type Settings = Record<string, Setting>;

export const setting = <T>(parse: Parser<T>, def: T, help: string, secret = false): Setting<T> => ({
  parse,
  default: def,
  help,
  secret,
});

/** Declares a module's settings; typed so `cfg.KEY` has the parser's type. */
export const defineSettings = <S extends Settings>(s: S): S => s;

export const str: Parser<string> = (v) => v;

export const oneOf =
  <T extends string>(...allowed: T[]): Parser<T> =>
  (v, key) => {
    if (!(allowed as string[]).includes(v)) throw new Error(`${key} must be one of ${allowed.join(', ')}, got "${v}"`);
    return v as T;
  };

export const bool: Parser<boolean> = (v, key) => {
  if (/^(1|true|yes|on)$/i.test(v)) return true;
  if (/^(0|false|no|off|)$/i.test(v)) return false;
  throw new Error(`${key} must be true or false, got "${v}"`);
};

export const dnsName: Parser<string> = (v, key) => {
  if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(v)) throw new Error(`${key} must be a DNS-1123 label, got "${v}"`);
  return v;
};

export const int =
  (min = 0, max = Number.MAX_SAFE_INTEGER): Parser<number> =>
  (v, key) => {
    if (!/^-?\d+$/.test(v)) throw new Error(`${key} must be a whole number, got "${v}"`);
    const n = Number(v);
    if (n < min || n > max) throw new Error(`${key} must be between ${min} and ${max}, got ${n}`);
    return n;
  };

/** Parses "90", "90s", "5m", "1h", "2d" into seconds. */
export function duration(v: string, name = 'duration'): number {
  const m = /^(\d+)(s|m|h|d)?$/.exec(v.trim());
  if (!m) throw new Error(`${name} must be like 90, 90s, 5m, 1h or 2d, got "${v}"`);
  return Number(m[1]) * ({ s: 1, m: 60, h: 3600, d: 86_400 }[m[2] ?? 's'] as number);
}
export const durationSeconds: Parser<number> = (v, key) => duration(v, key);

/** An http(s) URL, or empty for "not configured". */
export const url: Parser<string> = (v, key) => {
  if (v === '') return v;
  try {
    const u = new URL(v);
    if (u.protocol === 'http:' || u.protocol === 'https:') return v;
  } catch {
    /* fall through */
  }
  throw new Error(`${key} must be an http(s) URL`); // the value itself may be a secret: not echoed
};
