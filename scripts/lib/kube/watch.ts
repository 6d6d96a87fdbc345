// Waiting on the cluster by watching, never by polling: an informer (one List,
// then a watch) whose every change is put to a condition; the wait ends with
// the condition's answer, an informer's error or a timeout. However it ends,
// its timer and every informer it opened stop, so no watch outlives the wait.
import type { KubernetesObject } from '@kubernetes/client-node';
import type { Informed, InformerOptions } from './client.ts';

/** Where a wait gets its informers: a Kube, or a fake in unit tests. */
export interface InformerSource {
  informer<T extends KubernetesObject>(opts: InformerOptions): Informed<T>;
}

/** How a wait ends: a value resolves it, an Error rejects it; a promise of either (a diagnosis that reads events) is awaited. */
type Outcome<R> = R | Error | Promise<R | Error>;

/** A wait in progress, as its callbacks see it. */
interface Waiting<T, R> {
  /** the watched objects as the cache holds them now */
  list(): readonly T[];
  /** ends the wait; only the first outcome counts */
  end(outcome: Outcome<R>): void;
  readonly ended: boolean;
  /** one more informer, stopped when the wait ends (opened late, say, once the first List gave its selector) */
  open<U extends KubernetesObject>(opts: InformerOptions): Informed<U>;
}

export interface WatchUntilOptions<T, R> extends Omit<InformerOptions, 'onChange' | 'onError'> {
  timeoutSec: number;
  /** after the first List and after every event: an outcome ends the wait, undefined watches on */
  until(objs: readonly T[], w: Waiting<T, R>): Outcome<R> | undefined;
  /** how the wait ends when timeoutSec pass first */
  onTimeout(objs: readonly T[]): Outcome<R>;
  /** once the first List is in and did not end the wait */
  started?(w: Waiting<T, R>): Promise<void> | void;
}

/**
 * Watches one kind until `until` gives an outcome, an informer fails (a failure
 * it does not retry), `started` throws, or the timeout passes.
 */
export function watchUntil<T extends KubernetesObject, R>(
  source: InformerSource,
  o: WatchUntilOptions<T, R>,
): Promise<R> {
  const { timeoutSec, until, onTimeout, started, ...watched } = o;
  return new Promise<R>((resolve, reject) => {
    const stops: (() => void)[] = [];
    let ended = false;
    const end = (outcome: Outcome<R>) => {
      if (ended) return;
      ended = true;
      clearTimeout(timer);
      for (const stop of stops) stop();
      Promise.resolve(outcome).then((r) => (r instanceof Error ? reject(r) : resolve(r)), reject);
    };
    const open = <U extends KubernetesObject>(opts: InformerOptions): Informed<U> => {
      const inf = source.informer<U>(opts);
      stops.push(() => inf.stop());
      return {
        list: () => inf.list(),
        stop: () => inf.stop(),
        // A stop that came during the List does not keep the client from opening the watch after it: stop it again.
        start: async () => {
          await inf.start();
          if (ended) inf.stop();
        },
      };
    };
    const w: Waiting<T, R> = {
      list: () => main.list(),
      end,
      get ended() {
        return ended;
      },
      open,
    };
    const main = open<T>({
      ...watched,
      onChange: () => {
        const outcome = until(main.list(), w);
        if (outcome !== undefined) end(outcome);
      },
      onError: end,
    });
    const timer = setTimeout(() => end(onTimeout(main.list())), timeoutSec * 1000);
    main
      .start()
      .then(() => (ended ? undefined : started?.(w)))
      .catch((e: unknown) => end(e instanceof Error ? e : new Error(String(e))));
  });
}
