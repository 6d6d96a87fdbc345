// The watch-until helper on a fake informer: it ends on the condition, on an
// informer's error or at the timeout, and whichever way it ends, every
// informer it opened is stopped.
import type { KubernetesObject } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import type { Informed, InformerOptions } from '../../scripts/lib/kube/client.ts';
import { watchUntil, type InformerSource } from '../../scripts/lib/kube/watch.ts';

interface Fake extends Informed<KubernetesObject> {
  opts: InformerOptions;
  items: KubernetesObject[];
  stops: number;
  /** the cache changes, as after a watch event */
  emit(items: KubernetesObject[]): void;
}

/** Informers whose List resolves when `listed` is called (immediately by default). */
function fakeSource(o: { holdList?: boolean } = {}) {
  const made: Fake[] = [];
  let release = () => undefined as void;
  const source: InformerSource = {
    informer<T extends KubernetesObject>(opts: InformerOptions): Informed<T> {
      const f: Fake = {
        opts,
        items: [],
        stops: 0,
        list: () => f.items,
        start: async () => {
          if (o.holdList) await new Promise<void>((r) => (release = r));
          opts.onChange?.();
        },
        stop: () => void f.stops++,
        emit: (items) => {
          f.items = items;
          opts.onChange?.();
        },
      };
      made.push(f);
      return f as unknown as Informed<T>;
    },
  };
  return { source, made, listed: () => release() };
}

const obj = (name: string): KubernetesObject => ({ metadata: { name } });
const tick = () => new Promise((r) => setTimeout(r, 0));

describe('watchUntil', () => {
  it("resolves with the condition's value once it holds, and stops the informer", async () => {
    const { source, made } = fakeSource();
    const wait = watchUntil(source, {
      apiVersion: 'v1',
      kind: 'Pod',
      timeoutSec: 5,
      until: (objs) => (objs.length >= 2 ? objs.length : undefined),
      onTimeout: () => new Error('late'),
    });
    await tick();
    made[0]!.emit([obj('a')]);
    made[0]!.emit([obj('a'), obj('b')]);
    await expect(wait).resolves.toBe(2);
    expect(made[0]!.stops).toBeGreaterThan(0);
  });

  it("at the timeout ends with onTimeout's outcome, given the objects as they are: an Error rejects", async () => {
    const { source, made } = fakeSource();
    const t0 = Date.now();
    const wait = watchUntil(source, {
      apiVersion: 'v1',
      kind: 'Pod',
      timeoutSec: 0.05,
      until: () => undefined,
      onTimeout: (objs) => new Error(`still ${objs.length}`),
    });
    await tick();
    made[0]!.emit([obj('a')]);
    await expect(wait).rejects.toThrow('still 1');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(40);
    expect(made[0]!.stops).toBeGreaterThan(0);
    // A value resolves: a watch that only looks for trouble ends quietly.
    await expect(
      watchUntil(source, {
        apiVersion: 'v1',
        kind: 'Pod',
        timeoutSec: 0.01,
        until: () => undefined,
        onTimeout: () => 'quiet',
      }),
    ).resolves.toBe('quiet');
  });

  it("an informer's error ends the wait", async () => {
    const { source, made } = fakeSource();
    const wait = watchUntil(source, {
      apiVersion: 'v1',
      kind: 'Pod',
      timeoutSec: 5,
      until: () => undefined,
      onTimeout: () => 'late',
    });
    await tick();
    made[0]!.opts.onError?.(new Error('forbidden'));
    await expect(wait).rejects.toThrow('forbidden');
  });

  it('awaits a promised outcome, counts only the first, and stops informers opened on the way', async () => {
    const { source, made } = fakeSource();
    const wait = watchUntil<KubernetesObject, string>(source, {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      timeoutSec: 5,
      until: (objs) => (objs.length ? Promise.resolve(new Error('diagnosed')) : undefined),
      onTimeout: () => 'late',
      started: async (w) => {
        const pods = w.open({
          apiVersion: 'v1',
          kind: 'Pod',
          onChange: () => pods.list().length > 0 && w.end('from the pods'),
        });
        await pods.start();
      },
    });
    await tick();
    expect(made).toHaveLength(2);
    made[0]!.emit([obj('web')]);
    made[1]!.emit([obj('web-1')]);
    await expect(wait).rejects.toThrow('diagnosed');
    expect(made.every((f) => f.stops > 0)).toBe(true);
  });

  it('a wait that ended during the List stops its informer again once the List is in: the client would open the watch anyway', async () => {
    const { source, made, listed } = fakeSource({ holdList: true });
    const wait = watchUntil(source, {
      apiVersion: 'v1',
      kind: 'Pod',
      timeoutSec: 0.01,
      until: () => undefined,
      onTimeout: () => 'late',
    });
    await expect(wait).resolves.toBe('late');
    expect(made[0]!.stops).toBe(1);
    listed();
    await tick();
    expect(made[0]!.stops).toBe(2);
  });
});
