// Notifications to a webhook: a Slack incoming webhook ({text, blocks}) or
// any endpoint that takes plain JSON. One attempt is bounded by a timeout;
// network errors, timeouts, 5xx, 408 and 429 are retried with exponential
// backoff, other 4xx are not (the same body would be refused again). A dedup
// key sends the same news once per window, remembered in the state directory,
// so a cron job that finds the same problem every five minutes alerts once.
//
// The webhook URL is a credential (whoever has a Slack webhook URL can post to
// the channel): it is registered with scrub() and never printed, logged or put
// in an error; messages name its host only.
import { Exit, OpsError, usageError } from './errors.ts';
import { addSecret, scrub } from './output.ts';
import type { Level } from './result.ts';
import { defineSettings, durationSeconds, int, oneOf, setting, url } from './settings.ts';
import type { State } from './state.ts';

export const notifySettings = defineSettings({
  TODO_WEBHOOK_URL: setting(
    url,
    '',
    'webhook for notifications: a Slack incoming webhook or any endpoint taking JSON (empty: none)',
    true,
  ),
  TODO_WEBHOOK_FORMAT: setting(
    oneOf('slack', 'json'),
    'slack',
    'webhook body: slack ({text, blocks}) or json (the notification as it is)',
  ),
  TODO_WEBHOOK_TIMEOUT: setting(durationSeconds, 10, 'timeout of one webhook attempt, seconds or 1m'),
  TODO_WEBHOOK_RETRIES: setting(int(0, 10), 3, 'webhook retries after a network error, timeout, 5xx or 429'),
  TODO_WEBHOOK_DEDUP: setting(
    durationSeconds,
    3600,
    'a notification with the same dedup key is sent once per this window',
  ),
});

export type WebhookFormat = 'slack' | 'json';

export interface Notification {
  /** one line: what happened */
  title: string;
  /** a few lines of detail */
  text?: string;
  level?: Level;
  /** notifications with the same key are sent once per dedup window */
  dedupKey?: string;
  script?: string;
  context?: string;
  namespace?: string;
  release?: string;
  /** short facts shown as a table in Slack */
  fields?: Record<string, string | number | boolean>;
}

export interface Delivery {
  /** off: no webhook configured; deduped: the same key was sent within the window */
  status: 'sent' | 'deduped' | 'off';
  attempts: number;
  httpStatus?: number;
}

export interface NotifierOptions {
  /** empty: notifications are off */
  url: string;
  format: WebhookFormat;
  timeoutMs: number;
  /** attempts after the first */
  retries: number;
  dedupWindowMs: number;
  /** where dedup keys are remembered across runs; without it, within this process only */
  state?: State;
  /** wait before the first retry, doubled for each next one (default 1 s, at most maxBackoffMs) */
  backoffMs?: number;
  maxBackoffMs?: number;
  /** --verbose lines */
  log?: (msg: string) => void;
  now?: () => Date;
}

const icon: Record<Level, string> = {
  ok: ':white_check_mark:',
  info: ':information_source:',
  warn: ':warning:',
  fail: ':rotating_light:',
};
const clip = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

/** Registered secrets out of every string in a body (a log line quoted in `text` may carry one). */
function scrubDeep(v: unknown): unknown {
  if (typeof v === 'string') return scrub(v);
  if (Array.isArray(v)) return v.map(scrubDeep);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, scrubDeep(x)]));
  return v;
}

/** The request body for a notification: pure, so its shape is tested on plain data. */
export function webhookBody(n: Notification, format: WebhookFormat, at: Date = new Date()): Record<string, unknown> {
  const level = n.level ?? 'info';
  if (format === 'json') {
    return scrubDeep({
      title: n.title,
      text: n.text ?? '',
      level,
      at: at.toISOString(),
      script: n.script,
      context: n.context,
      namespace: n.namespace,
      release: n.release,
      fields: n.fields ?? {},
      dedupKey: n.dedupKey,
    }) as Record<string, unknown>;
  }
  const where = [
    n.script,
    n.release && `release ${n.release}`,
    n.namespace && `namespace ${n.namespace}`,
    n.context && `context ${n.context}`,
  ]
    .filter(Boolean)
    .join(' · ');
  const blocks: unknown[] = [
    {
      type: 'section',
      text: { type: 'mrkdwn', text: clip(`${icon[level]} *${n.title}*${n.text ? `\n${n.text}` : ''}`, 3000) },
    },
  ];
  const fields = Object.entries(n.fields ?? {}).slice(0, 10); // Slack's limit per section
  if (fields.length)
    blocks.push({
      type: 'section',
      fields: fields.map(([k, v]) => ({ type: 'mrkdwn', text: clip(`*${k}*\n${String(v)}`, 2000) })),
    });
  if (where) blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: where }] });
  // `text` is what Slack shows in the notification itself and where blocks are not rendered.
  return scrubDeep({ text: `[${level.toUpperCase()}] ${n.title}`, blocks }) as Record<string, unknown>;
}

/** Why one attempt failed, without the URL: fetch's own messages are not trusted to leave it out. */
function failure(e: unknown, timeoutMs: number): string {
  const err = e as Error & { cause?: { code?: string } };
  if (err?.name === 'TimeoutError' || err?.name === 'AbortError') return `no answer within ${timeoutMs / 1000}s`;
  const code = err?.cause?.code;
  const known: Record<string, string> = {
    ECONNREFUSED: 'connection refused',
    ECONNRESET: 'connection reset',
    ENOTFOUND: 'host not found',
    EAI_AGAIN: 'host not found (DNS)',
    ETIMEDOUT: 'connection timed out',
    EHOSTUNREACH: 'host unreachable',
    UND_ERR_SOCKET: 'connection closed',
  };
  if (code) return `${known[code] ?? 'network error'} (${code})`;
  return 'network error';
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const DEDUP_DOC = 'notify-dedup';

export class Notifier {
  private readonly opts: NotifierOptions;
  /** host[:port] of the webhook: what messages may show */
  readonly target: string;
  private readonly scheme: string = 'https:';
  private readonly sentHere = new Map<string, number>();

  constructor(opts: NotifierOptions) {
    this.opts = opts;
    this.target = '';
    if (!opts.url) return;
    const u = new URL(opts.url);
    this.target = u.host;
    this.scheme = u.protocol;
    // The whole URL, and the parts of it that identify the hook on their own.
    addSecret(opts.url);
    if (u.pathname.length >= 8) addSecret(u.pathname + u.search);
    if (u.password) addSecret(decodeURIComponent(u.password));
    if (opts.timeoutMs <= 0) throw usageError('TODO_WEBHOOK_TIMEOUT must be more than 0');
  }

  get enabled(): boolean {
    return this.opts.url !== '';
  }

  private now(): number {
    return (this.opts.now?.() ?? new Date()).getTime();
  }

  private sentWithin(key: string): boolean {
    const at =
      this.sentHere.get(key) ?? Date.parse(this.opts.state?.readJson<Record<string, string>>(DEDUP_DOC)?.[key] ?? '');
    return !Number.isNaN(at) && this.now() - at < this.opts.dedupWindowMs;
  }

  private remember(key: string): void {
    const now = this.now();
    this.sentHere.set(key, now);
    const st = this.opts.state;
    if (!st) return;
    // Read-modify-write: two runs sending the same key at the same instant may both send. Expired keys are dropped.
    const keep = Object.entries(st.readJson<Record<string, string>>(DEDUP_DOC) ?? {}).filter(
      ([, at]) => now - Date.parse(at) < this.opts.dedupWindowMs,
    );
    st.writeJson(DEDUP_DOC, Object.fromEntries([...keep, [key, new Date(now).toISOString()]]));
  }

  /**
   * Sends a notification. Throws OpsError (exit 4) when it could not be
   * delivered; the caller decides whether that fails its run.
   */
  async send(n: Notification): Promise<Delivery> {
    if (!this.enabled) return { status: 'off', attempts: 0 };
    if (n.dedupKey && this.sentWithin(n.dedupKey)) {
      this.opts.log?.(
        `webhook ${this.target}: "${n.dedupKey}" already sent within ${this.opts.dedupWindowMs / 1000}s, not sent again`,
      );
      return { status: 'deduped', attempts: 0 };
    }
    const body = JSON.stringify(webhookBody(n, this.opts.format, new Date(this.now())));
    const total = this.opts.retries + 1;
    let reason = '';
    for (let attempt = 1; attempt <= total; attempt++) {
      this.opts.log?.(
        `webhook POST ${this.scheme}//${this.target}/… (${this.opts.format}, attempt ${attempt}/${total})`,
      );
      let retry = true;
      let retryAfterMs: number | undefined;
      try {
        const res = await fetch(this.opts.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'user-agent': 'todo-chatbot-ops' },
          body,
          // A redirect would send the body somewhere the URL did not say.
          redirect: 'manual',
          signal: AbortSignal.timeout(this.opts.timeoutMs),
        });
        const answer = scrub((await res.text()).replace(/\s+/g, ' ').trim().slice(0, 200));
        if (res.status >= 200 && res.status < 300) {
          if (n.dedupKey) this.remember(n.dedupKey);
          return { status: 'sent', attempts: attempt, httpStatus: res.status };
        }
        reason = `HTTP ${res.status}${answer ? ` (${answer})` : ''}`;
        retry = res.status >= 500 || res.status === 408 || res.status === 429;
        const ra = res.headers.get('retry-after'); // seconds; the HTTP-date form is not used by webhook receivers
        if (res.status === 429 && ra && /^\d+$/.test(ra.trim())) retryAfterMs = Number(ra) * 1000;
      } catch (e) {
        reason = failure(e, this.opts.timeoutMs);
      }
      if (!retry)
        throw new OpsError(
          `webhook ${this.target} refused the notification: ${reason}`,
          Exit.actionFailed,
          'not retried: check TODO_WEBHOOK_URL and TODO_WEBHOOK_FORMAT',
        );
      if (attempt < total) {
        const wait = Math.min(
          retryAfterMs ?? (this.opts.backoffMs ?? 1000) * 2 ** (attempt - 1),
          this.opts.maxBackoffMs ?? 30_000,
        );
        this.opts.log?.(`webhook ${this.target}: ${reason}; retrying in ${(wait / 1000).toFixed(1)}s`);
        await sleep(wait);
      }
    }
    throw new OpsError(
      `webhook ${this.target} failed after ${total} attempt${total > 1 ? 's' : ''}: ${reason}`,
      Exit.actionFailed,
      'is the receiver up? TODO_WEBHOOK_TIMEOUT and TODO_WEBHOOK_RETRIES set how long to try',
    );
  }
}

type Values<S> = { [K in keyof S]: S[K] extends { default: infer T } ? T : never };
export type NotifyConfig = Values<typeof notifySettings>;

/** The notifier configured by TODO_WEBHOOK_* (notifySettings) in a loaded config. */
export function notifierFromConfig(
  cfg: Partial<NotifyConfig> | Record<string, unknown>,
  extra: Pick<NotifierOptions, 'state' | 'log' | 'backoffMs' | 'now'> = {},
): Notifier {
  const c = { ...defaults, ...cfg } as NotifyConfig;
  return new Notifier({
    url: c.TODO_WEBHOOK_URL,
    format: c.TODO_WEBHOOK_FORMAT,
    timeoutMs: c.TODO_WEBHOOK_TIMEOUT * 1000,
    retries: c.TODO_WEBHOOK_RETRIES,
    dedupWindowMs: c.TODO_WEBHOOK_DEDUP * 1000,
    ...extra,
  });
}
const defaults = Object.fromEntries(Object.entries(notifySettings).map(([k, s]) => [k, s.default])) as NotifyConfig;
