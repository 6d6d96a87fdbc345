// Is an Agent serving? kagent's own status conditions (Accepted, Ready) are not
// enough: kagent reports Ready when its Deployment is available, and a pod that
// a fake node "runs" (kwok, virtual-kubelet) is available at once and answers
// nothing. So the verdict also needs the agent's pod Running and Ready on a node
// that runs containers. Pure: the watch in run.ts feeds it what it sees.
// kagent's Deployment labels an Agent's pods app=kagent,kagent=<agent>
// (translator/agent/manifest_builder.go).
import type { V1Node, V1Pod } from '@kubernetes/client-node';

export interface AgentObject {
  metadata?: { name?: string; generation?: number };
  status?: {
    observedGeneration?: number;
    conditions?: { type: string; status: string; reason?: string; message?: string }[];
  };
}

export type Serving =
  | { state: 'serving'; pod: string; node: string; detail: string }
  | { state: 'waiting'; detail: string }
  | { state: 'failed'; detail: string; node?: string };

/** Why a node cannot run containers (a kwok or virtual-kubelet node), or undefined for a real one. */
export function fakeNode(node: V1Node | undefined): string | undefined {
  if (!node) return undefined;
  const ann = node.metadata?.annotations ?? {};
  const labels = node.metadata?.labels ?? {};
  if (ann['kwok.x-k8s.io/node']) return `a kwok node (annotation kwok.x-k8s.io/node=${ann['kwok.x-k8s.io/node']})`;
  if (labels.type === 'kwok' || labels.type === 'virtual-kubelet') return `a ${labels.type} node (label type)`;
  if (node.status?.nodeInfo?.kubeletVersion === 'fake') return 'a fake node (kubelet version "fake")';
  return undefined;
}

const cond = (a: AgentObject, type: string) => a.status?.conditions?.find((c) => c.type === type);
const said = (c: { reason?: string; message?: string } | undefined) =>
  [c?.reason, c?.message].filter(Boolean).join(': ') || 'no reason given';

/** The verdict for one Agent from its object, its pods and the nodes. */
export function judgeAgent(
  name: string,
  agent: AgentObject | undefined,
  pods: readonly V1Pod[],
  nodes: readonly V1Node[],
): Serving {
  if (!agent) return { state: 'waiting', detail: 'not stored yet' };
  const accepted = cond(agent, 'Accepted');
  if (accepted?.status === 'False') return { state: 'failed', detail: `not Accepted by kagent (${said(accepted)})` };
  const stale =
    agent.metadata?.generation !== undefined &&
    agent.status?.observedGeneration !== undefined &&
    agent.status.observedGeneration < agent.metadata.generation;
  if (!accepted || stale)
    return { state: 'waiting', detail: "kagent's controller has not reconciled it yet (is the controller running?)" };
  const mine = pods.filter((p) => p.metadata?.labels?.kagent === name && !p.metadata?.deletionTimestamp);
  // A pod on a node that cannot run containers never serves, whatever it and kagent report.
  for (const p of mine) {
    const nodeName = p.spec?.nodeName;
    const why = nodeName ? fakeNode(nodes.find((n) => n.metadata?.name === nodeName)) : undefined;
    if (why)
      return {
        state: 'failed',
        node: nodeName,
        detail: `pod ${p.metadata?.name} was placed on node ${nodeName}, ${why}, which runs no containers: set kagent.placement (nodeSelector/tolerations) to a node that does`,
      };
  }
  const ready = cond(agent, 'Ready');
  const running = mine.find(
    (p) => p.status?.phase === 'Running' && p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
  );
  if (ready?.status === 'True' && running)
    return {
      state: 'serving',
      pod: running.metadata!.name!,
      node: running.spec!.nodeName!,
      detail: `Accepted and Ready; pod ${running.metadata!.name} Running on node ${running.spec!.nodeName}`,
    };
  const pod = mine[0];
  const unschedulable = pod?.status?.conditions?.find((c) => c.type === 'PodScheduled' && c.status === 'False');
  const waitingOn = pod?.status?.containerStatuses?.find((c) => c.state?.waiting)?.state?.waiting;
  const podState = !pod
    ? 'no pod yet'
    : unschedulable
      ? `pod ${pod.metadata?.name} unschedulable: ${unschedulable.message ?? unschedulable.reason ?? ''}`
      : `pod ${pod.metadata?.name} ${waitingOn?.reason ?? pod.status?.phase ?? 'Pending'}${pod.spec?.nodeName ? ` on node ${pod.spec.nodeName}` : ''}`;
  return { state: 'waiting', detail: `Ready=${ready?.status ?? 'unknown'} (${said(ready)}); ${podState}` };
}
