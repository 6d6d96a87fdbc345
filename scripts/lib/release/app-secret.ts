// Writing the app Secret to the cluster, for deploy and config alike. Apart
// from secrets.ts so that the pure helpers load without the Kubernetes client.
import type { V1Secret } from '@kubernetes/client-node';
import { PatchStrategy } from '../kube/k8s.ts';
import type { Context } from '../kit/cli.ts';
import { encodeSecretData, fingerprint } from './secrets.ts';

/** The field manager of the app Secret, shared by deploy and config (the Secret is the suite's own). */
const secretFieldManager = 'todo-chatbot-ops/app-secret';

/**
 * Creates or updates the app Secret by server-side apply: the data travels in
 * the request body only. One field manager for every script that writes it,
 * forcing: fields another manager holds on the suite's own Secret are taken over.
 */
export async function applySecret(
  ctx: Context,
  name: string,
  data: Record<string, string>,
  dryRun = false,
): Promise<void> {
  const kube = await ctx.kube();
  const obj = {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name,
      namespace: ctx.namespace,
      labels: { 'app.kubernetes.io/managed-by': 'todo-chatbot-ops', 'app.kubernetes.io/instance': ctx.release },
      annotations: {
        'todo-chatbot-ops/fingerprints': Object.entries(data)
          .map(([k, v]) => `${k}=${fingerprint(v)}`)
          .join(','),
      },
    },
    type: 'Opaque',
    data: encodeSecretData(data),
  } as V1Secret;
  await kube.call(`apply Secret/${name}${dryRun ? ' (dry run)' : ''}`, () =>
    kube.objects.patch(
      obj,
      undefined,
      dryRun ? 'All' : undefined,
      secretFieldManager,
      true,
      PatchStrategy.ServerSideApply,
    ),
  );
}
