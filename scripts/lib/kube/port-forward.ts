// Port-forward to a pod or a Service (what `kubectl port-forward` does) on
// 127.0.0.1 with an ephemeral local port: verify and load tests talk to the
// app from this machine without a NodePort or an Ingress. A Service is
// resolved the way kubectl does: its selector to a ready pod, its port to the
// pod's targetPort (by number or by container port name).
import type { V1Pod, V1Service } from '@kubernetes/client-node';
import { PortForward } from './k8s.ts';
import net from 'node:net';
import { Writable } from 'node:stream';
import { Exit, OpsError } from '../kit/errors.ts';
import type { Kube } from './client.ts';
import { isServing } from './pod-status.ts';
import { selectorString } from './rollout.ts';

export interface PortForwardOptions {
  namespace: string;
  /** one of pod or service */
  pod?: string;
  service?: string;
  /** the Service's port (number or name), or the pod's container port (number or name) */
  port: number | string;
  /** per-connection failures (the pod went away, nothing listens on the port); default: a --verbose line */
  onError?: (e: Error) => void;
}

export interface Forward {
  /** the local port on 127.0.0.1 */
  port: number;
  pod: string;
  targetPort: number;
  close(): Promise<void>;
}

/** A container port of the pod by number (as is) or by name. */
export function containerPort(pod: V1Pod, port: number | string): number | undefined {
  if (typeof port === 'number') return port;
  if (/^\d+$/.test(port)) return Number(port);
  for (const c of pod.spec?.containers ?? [])
    for (const p of c.ports ?? []) if (p.name === port) return p.containerPort;
  return undefined;
}

/**
 * The pod and pod port a Service port leads to: the Service's port by number
 * or name, its targetPort (number, a container port name, or the port itself
 * when unset), on the oldest ready pod its selector matches. Throws an
 * OpsError that says which of those is missing.
 */
export function resolveServiceTarget(
  svc: V1Service,
  pods: readonly V1Pod[],
  port: number | string,
): { pod: string; targetPort: number } {
  const name = `service/${svc.metadata?.name}`;
  const ports = svc.spec?.ports ?? [];
  const sp = ports.find((p) =>
    typeof port === 'number' || /^\d+$/.test(port) ? p.port === Number(port) : p.name === port,
  );
  if (!sp)
    throw new OpsError(
      `${name} has no port ${port}`,
      Exit.usage,
      `its ports: ${ports.map((p) => `${p.port}${p.name ? ` (${p.name})` : ''}`).join(', ') || 'none'}`,
    );
  if (!svc.spec?.selector || !Object.keys(svc.spec.selector).length)
    throw new OpsError(`${name} has no selector: there is no pod to forward to`, Exit.actionFailed);
  const ready = pods
    .filter(isServing)
    .sort(
      (a, b) =>
        new Date(a.metadata?.creationTimestamp ?? 0).getTime() -
          new Date(b.metadata?.creationTimestamp ?? 0).getTime() ||
        String(a.metadata?.name).localeCompare(String(b.metadata?.name)),
    );
  const pod = ready[0];
  const selector = selectorString({ matchLabels: svc.spec.selector });
  if (!pod)
    throw new OpsError(
      `no ready pod behind ${name} (${selector}; ${pods.length} pods match)`,
      Exit.actionFailed,
      `kubectl -n ${svc.metadata?.namespace} get pods -l ${selector}`,
    );
  const target = sp.targetPort ?? sp.port;
  const targetPort = containerPort(pod, target);
  if (targetPort === undefined)
    throw new OpsError(
      `pod ${pod.metadata?.name} has no container port named ${target} (targetPort of ${name})`,
      Exit.actionFailed,
    );
  return { pod: pod.metadata!.name!, targetPort };
}

/** Finds the pod and port to forward to: one GET of the pod, or the Service and one List of its pods. */
async function resolveTarget(kube: Kube, opts: PortForwardOptions): Promise<{ pod: string; targetPort: number }> {
  const ns = opts.namespace;
  if (opts.service) {
    const svc = await kube.read<V1Service>('v1', 'Service', opts.service, ns);
    if (!svc)
      throw new OpsError(
        `service ${opts.service} not found in namespace ${ns}`,
        Exit.actionFailed,
        `kubectl -n ${ns} get services`,
      );
    const selector = selectorString({ matchLabels: svc.spec?.selector ?? {} });
    const pods = selector ? await kube.list<V1Pod>('v1', 'Pod', ns, selector) : [];
    return resolveServiceTarget(svc, pods, opts.port);
  }
  if (!opts.pod) throw new OpsError('port-forward needs a pod or a service', Exit.usage);
  const pod = await kube.read<V1Pod>('v1', 'Pod', opts.pod, ns);
  if (!pod)
    throw new OpsError(`pod ${opts.pod} not found in namespace ${ns}`, Exit.actionFailed, `kubectl -n ${ns} get pods`);
  if (pod.status?.phase !== 'Running')
    throw new OpsError(
      `pod ${opts.pod} is ${pod.status?.phase ?? 'not running'}: cannot forward to it`,
      Exit.actionFailed,
      `kubectl -n ${ns} describe pod ${opts.pod}`,
    );
  const targetPort = containerPort(pod, opts.port);
  if (targetPort === undefined)
    throw new OpsError(`pod ${opts.pod} has no container port named ${opts.port}`, Exit.usage);
  return { pod: opts.pod, targetPort };
}

/**
 * Listens on 127.0.0.1:<ephemeral> and forwards each connection over its own
 * API port-forward stream to the pod. close() stops listening and ends every
 * open connection.
 */
export async function portForward(kube: Kube, opts: PortForwardOptions): Promise<Forward> {
  const { pod, targetPort } = await resolveTarget(kube, opts);
  const forwarder = new PortForward(kube.kc);
  const sockets = new Set<net.Socket>();
  const fail = (socket: net.Socket, e: Error) => {
    (opts.onError ?? ((err: Error) => kube.debug(err.message)))(e);
    socket.destroy();
  };
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined); // a reset by the local client is its business
    // The API's error channel carries e.g. "connection refused" from the pod side.
    const errors = new Writable({
      write(chunk: Buffer, _enc, done) {
        if (chunk.length)
          fail(socket, new Error(`port-forward to ${pod}:${targetPort}: ${chunk.toString('utf8').trim()}`));
        done();
      },
    });
    forwarder
      .portForward(opts.namespace, pod, [targetPort], socket, errors, socket)
      .then((ws) => {
        const w = typeof ws === 'function' ? ws() : ws;
        if (!w) return fail(socket, new Error(`port-forward to ${pod}:${targetPort}: no connection`));
        w.on('close', () => socket.end());
        w.on('error', (e: Error) => fail(socket, e));
        socket.on('close', () => w.close());
      })
      .catch((e: unknown) =>
        fail(socket, new Error(`port-forward to ${pod}:${targetPort}: ${(e as Error)?.message ?? String(e)}`)),
      );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    pod,
    targetPort,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
