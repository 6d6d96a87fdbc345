// alert's memory between runs (pure): the conditions that hold now and the
// stored alerts in; the new state and the notifications to send out. A
// condition is pending until it has held for its rule's `for`, then firing
// (one notice); a firing alert is sent again only after the repeat interval;
// one that clears gets a resolved notice (if anyone was told it fired); a
// silence (per rule or per alert key, with an expiry) holds notices back, and
// a firing alert nobody was told about is announced when its silence ends.
import type { Condition, RuleName } from './rules.ts';

interface StoredAlert {
  key: string;
  rule: RuleName;
  level: Condition['level'];
  summary: string;
  detail: string;
  state: 'pending' | 'firing';
  /** when the condition was first seen, this time round */
  since: string;
  firingSince?: string;
  /** when a notice about it last went out; unset while silenced */
  notifiedAt?: string;
}

interface Silence {
  /** a rule name or an alert key (rule:object) */
  match: string;
  until: string;
  created: string;
  comment?: string;
}

export interface AlertsDoc {
  alerts: Record<string, StoredAlert>;
  silences: Silence[];
  lastHeartbeat?: string;
}

export interface Notice {
  kind: 'firing' | 'repeat' | 'resolved' | 'heartbeat';
  key: string;
  title: string;
  text: string;
  level: 'ok' | 'info' | 'warn' | 'fail';
}

export interface StateSettings {
  forSec: Record<RuleName, number>;
  repeatSec: number;
  /** 0: no heartbeat */
  heartbeatSec: number;
}

export interface StepOutcome {
  doc: AlertsDoc;
  notices: Notice[];
  /** held back by a silence */
  silenced: string[];
  expiredSilences: Silence[];
}

export const emptyDoc = (): AlertsDoc => ({ alerts: {}, silences: [] });
const ms = (t: string | undefined) => (t ? Date.parse(t) : 0);

function silencedBy(silences: readonly Silence[], a: { key: string; rule: string }, now: number): Silence | undefined {
  return silences.find((s) => ms(s.until) > now && (s.match === a.key || s.match === a.rule));
}

export function stepAlerts(
  prev: AlertsDoc,
  conditions: readonly Condition[],
  nowDate: Date,
  s: StateSettings,
): StepOutcome {
  const now = nowDate.getTime();
  const at = nowDate.toISOString();
  const expiredSilences = prev.silences.filter((x) => ms(x.until) <= now);
  const silences = prev.silences.filter((x) => ms(x.until) > now);
  const alerts: Record<string, StoredAlert> = {};
  const notices: Notice[] = [];
  const silenced: string[] = [];
  const tell = (a: StoredAlert, n: Omit<Notice, 'key'>) => {
    if (silencedBy(silences, a, now)) {
      silenced.push(a.key);
      return false;
    }
    notices.push({ key: a.key, ...n });
    return true;
  };

  for (const c of conditions) {
    const old = prev.alerts[c.key];
    const a: StoredAlert = old
      ? { ...old, level: c.level, summary: c.summary, detail: c.detail }
      : { key: c.key, rule: c.rule, level: c.level, summary: c.summary, detail: c.detail, state: 'pending', since: at };
    const forSec = s.forSec[c.rule] ?? 0;
    if (a.state === 'pending' && now - ms(a.since) >= forSec * 1000) {
      a.state = 'firing';
      a.firingSince = at;
    }
    if (a.state === 'firing') {
      if (!a.notifiedAt) {
        if (tell(a, { kind: 'firing', level: a.level, title: `FIRING ${a.rule}: ${a.summary}`, text: a.detail }))
          a.notifiedAt = at;
      } else if (now - ms(a.notifiedAt) >= s.repeatSec * 1000) {
        if (
          tell(a, {
            kind: 'repeat',
            level: a.level,
            title: `STILL FIRING ${a.rule}: ${a.summary} (since ${a.firingSince})`,
            text: a.detail,
          })
        )
          a.notifiedAt = at;
      }
    }
    alerts[c.key] = a;
  }
  for (const old of Object.values(prev.alerts)) {
    if (alerts[old.key]) continue;
    // Cleared. Only a firing alert someone heard about gets a resolved notice; a silenced one ends quietly.
    if (old.state === 'firing' && old.notifiedAt)
      tell(old, {
        kind: 'resolved',
        level: 'ok',
        title: `RESOLVED ${old.rule}: ${old.summary}`,
        text: `fired ${old.firingSince}, cleared ${at}`,
      });
  }
  let lastHeartbeat = prev.lastHeartbeat;
  if (s.heartbeatSec > 0 && (!lastHeartbeat || now - ms(lastHeartbeat) >= s.heartbeatSec * 1000)) {
    const firing = Object.values(alerts).filter((a) => a.state === 'firing').length;
    notices.push({
      kind: 'heartbeat',
      key: 'heartbeat',
      level: 'info',
      title: `alert heartbeat: ${firing} firing, ${Object.keys(alerts).length - firing} pending, ${silences.length} silence(s)`,
      text: 'the alerter runs; a missing heartbeat means it stopped',
    });
    lastHeartbeat = at;
  }
  return { doc: { alerts, silences, ...(lastHeartbeat ? { lastHeartbeat } : {}) }, notices, silenced, expiredSilences };
}
