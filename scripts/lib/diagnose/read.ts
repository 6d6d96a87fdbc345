// Small readings of API objects that debug's analyzers and its entry share:
// a name, a time, one line of a message. Anything that judges an object
// belongs in an analyzer, not here.
import type { CoreV1Event, V1Pod } from '@kubernetes/client-node';
import type { ObjectRef } from '../kit/result.ts';

export const ref = (kind: string, name: string, namespace: string): ObjectRef => ({ kind, name, namespace });
export const podName = (p: V1Pod) => p.metadata?.name ?? '?';
export const eventTime = (e: CoreV1Event) =>
  new Date((e.lastTimestamp ?? e.eventTime ?? e.metadata?.creationTimestamp ?? 0) as string | Date).getTime() || 0;
/** A message on one line, so a finding's detail stays one line. */
export const oneLine = (s: string | undefined) => (s ?? '').replace(/\s+/g, ' ').trim();
