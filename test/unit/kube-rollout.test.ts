// The rollout decisions on plain objects: when a Deployment or StatefulSet has
// rolled out (kubectl's rules), and which pod to blame, and why, when not.
import type { CoreV1Event, V1Deployment, V1Pod, V1StatefulSet } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { podProblem } from '../../scripts/lib/kube/pod-status.ts';
import {
  blamePod,
  describeProblem,
  hopelessPod,
  rolloutState,
  selectorString,
} from '../../scripts/lib/kube/rollout.ts';

const deploy = (
  status: NonNullable<V1Deployment['status']>,
  spec: Partial<NonNullable<V1Deployment['spec']>> = {},
  generation = 2,
): V1Deployment => ({
  metadata: { name: 'web', generation },
  spec: { replicas: 3, selector: { matchLabels: { app: 'web' } }, template: {}, ...spec },
  status: { observedGeneration: 2, ...status },
});
const sts = (
  status: Partial<NonNullable<V1StatefulSet['status']>>,
  spec: Partial<NonNullable<V1StatefulSet['spec']>> = {},
): V1StatefulSet => ({
  metadata: { name: 'db', generation: 1 },
  spec: { replicas: 2, selector: {}, serviceName: 'db', template: {}, ...spec },
  status: { observedGeneration: 1, replicas: 2, currentRevision: 'db-1', updateRevision: 'db-1', ...status },
});

describe('rolloutState: Deployment', () => {
  it('waits until the spec update is observed', () => {
    const s = rolloutState(
      'Deployment',
      deploy({ replicas: 3, updatedReplicas: 3, readyReplicas: 3, availableReplicas: 3 }, {}, 3),
    );
    expect(s).toMatchObject({ done: false, message: expect.stringMatching(/spec update to be observed/) });
  });
  it('waits for updated replicas, then old ones to go, then availability', () => {
    expect(
      rolloutState('Deployment', deploy({ replicas: 4, updatedReplicas: 1, readyReplicas: 3, availableReplicas: 3 }))
        .message,
    ).toMatch(/1 out of 3 new replicas have been updated/);
    expect(
      rolloutState('Deployment', deploy({ replicas: 4, updatedReplicas: 3, readyReplicas: 3, availableReplicas: 3 }))
        .message,
    ).toMatch(/1 old replicas are pending termination/);
    expect(
      rolloutState('Deployment', deploy({ replicas: 3, updatedReplicas: 3, readyReplicas: 2, availableReplicas: 2 }))
        .message,
    ).toMatch(/2 of 3 updated replicas are available/);
  });
  it('is done when every replica is updated, ready and available', () => {
    expect(
      rolloutState('Deployment', deploy({ replicas: 3, updatedReplicas: 3, readyReplicas: 3, availableReplicas: 3 })),
    ).toMatchObject({ done: true, desired: 3, ready: 3 });
  });
  it('reports an exceeded progress deadline', () => {
    const s = rolloutState(
      'Deployment',
      deploy({
        replicas: 3,
        updatedReplicas: 1,
        conditions: [
          {
            type: 'Progressing',
            status: 'False',
            reason: 'ProgressDeadlineExceeded',
            message: 'ReplicaSet "web-1" has timed out progressing.',
          },
        ],
      }),
    );
    expect(s).toMatchObject({ done: false, deadlineExceeded: 'ReplicaSet "web-1" has timed out progressing.' });
  });
  it('says a paused deployment is paused', () => {
    expect(rolloutState('Deployment', deploy({ replicas: 3, updatedReplicas: 0 }, { paused: true })).message).toMatch(
      /paused/,
    );
  });
  it('scaled to zero is done with nothing running', () => {
    expect(rolloutState('Deployment', deploy({}, { replicas: 0 })).done).toBe(true);
  });
});

describe('rolloutState: StatefulSet', () => {
  it('waits for ready, then for the revision to roll through', () => {
    expect(rolloutState('StatefulSet', sts({ readyReplicas: 1, availableReplicas: 1 })).message).toMatch(
      /1 of 2 pods are ready/,
    );
    expect(
      rolloutState(
        'StatefulSet',
        sts({ readyReplicas: 2, availableReplicas: 2, updatedReplicas: 1, updateRevision: 'db-2' }),
      ).message,
    ).toMatch(/1 pods at revision db-2/);
    expect(rolloutState('StatefulSet', sts({ readyReplicas: 2, availableReplicas: 2, updatedReplicas: 2 })).done).toBe(
      true,
    );
  });
  it('honours a partition', () => {
    const spec = { updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 1 } } };
    expect(
      rolloutState(
        'StatefulSet',
        sts({ readyReplicas: 2, availableReplicas: 2, updatedReplicas: 0, updateRevision: 'db-2' }, spec),
      ).done,
    ).toBe(false);
    expect(
      rolloutState(
        'StatefulSet',
        sts({ readyReplicas: 2, availableReplicas: 2, updatedReplicas: 1, updateRevision: 'db-2' }, spec),
      ).done,
    ).toBe(true);
  });
  it('waits for surplus pods to terminate after a scale-down', () => {
    expect(rolloutState('StatefulSet', sts({ replicas: 3, readyReplicas: 3, availableReplicas: 3 })).message).toMatch(
      /1 pods are pending termination/,
    );
  });
});

describe('podProblem and blamePod', () => {
  const pod = (name: string, status: V1Pod['status'], created = '2026-01-01T00:00:00Z'): V1Pod => ({
    metadata: { name, creationTimestamp: new Date(created) },
    spec: { containers: [{ name: 'app' }] },
    status,
  });
  const readyPod = pod('ok', { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] });
  const crashing = pod('crash', {
    phase: 'Running',
    conditions: [{ type: 'Ready', status: 'False' }],
    containerStatuses: [
      {
        name: 'app',
        image: 'x',
        imageID: '',
        ready: false,
        restartCount: 4,
        state: { waiting: { reason: 'CrashLoopBackOff', message: 'back-off 40s restarting failed container app' } },
        lastState: { terminated: { exitCode: 3, reason: 'Error' } },
      },
    ],
  });
  const unschedulable = pod('pending', {
    phase: 'Pending',
    conditions: [
      {
        type: 'PodScheduled',
        status: 'False',
        reason: 'Unschedulable',
        message: '0/2 nodes are available: 2 Insufficient cpu.',
      },
    ],
  });
  const notReady = pod(
    'slow',
    {
      phase: 'Running',
      conditions: [{ type: 'Ready', status: 'False' }],
      containerStatuses: [
        { name: 'app', image: 'x', imageID: '', ready: false, restartCount: 0, state: { running: {} } },
      ],
    },
    '2026-01-02T00:00:00Z',
  );

  it('a ready pod and a terminating pod have no problem', () => {
    expect(podProblem(readyPod)).toBeUndefined();
    expect(
      podProblem({ ...crashing, metadata: { ...crashing.metadata, deletionTimestamp: new Date() } }),
    ).toBeUndefined();
  });
  it('a crash loop: the waiting reason, the last exit code and the restarts', () => {
    const p = podProblem(crashing)!;
    expect(p).toMatchObject({ pod: 'crash', reason: 'CrashLoopBackOff', container: 'app', exitCode: 3, restarts: 4 });
    expect(describeProblem(p)).toBe(
      'pod crash: CrashLoopBackOff: back-off 40s restarting failed container app (container app, last exit code 3, 4 restarts)',
    );
  });
  it("unschedulable: the scheduler's message", () => {
    expect(podProblem(unschedulable)).toMatchObject({
      reason: 'Unschedulable',
      message: '0/2 nodes are available: 2 Insufficient cpu.',
    });
  });
  it('running but not ready: the newest Unhealthy event', () => {
    const events = [
      {
        reason: 'Unhealthy',
        type: 'Warning',
        message: 'Readiness probe failed: HTTP probe failed with statuscode: 503',
      },
    ] as CoreV1Event[];
    expect(podProblem(notReady, events)).toMatchObject({
      reason: 'NotReady',
      message: 'Readiness probe failed: HTTP probe failed with statuscode: 503',
    });
    expect(podProblem(notReady)).toMatchObject({
      reason: 'NotReady',
      message: 'container app is running but not ready',
    });
  });
  it('an image pull failure', () => {
    const p = pod('img', {
      phase: 'Pending',
      conditions: [{ type: 'PodScheduled', status: 'True' }],
      containerStatuses: [
        {
          name: 'app',
          image: 'x',
          imageID: '',
          ready: false,
          restartCount: 0,
          state: {
            waiting: { reason: 'ImagePullBackOff', message: 'Back-off pulling image "registry.example/x:nope"' },
          },
        },
      ],
    });
    expect(describeProblem(podProblem(p)!)).toBe(
      'pod img: ImagePullBackOff: Back-off pulling image "registry.example/x:nope" (container app)',
    );
  });
  it('blames a severe problem over a newer pod that is merely not ready yet', () => {
    expect(blamePod([readyPod, notReady, crashing])?.problem.pod).toBe('crash');
    expect(blamePod([readyPod, notReady])?.problem.pod).toBe('slow');
    expect(blamePod([readyPod])).toBeUndefined();
  });
  it('a crash-looping container caught running between two back-offs is still a crash loop, with its last exit', () => {
    const rerun = pod('rerun', {
      phase: 'Running',
      conditions: [{ type: 'Ready', status: 'False' }],
      containerStatuses: [
        {
          name: 'app',
          image: 'x',
          imageID: '',
          ready: false,
          restartCount: 2,
          state: { running: {} },
          lastState: { terminated: { exitCode: 1, reason: 'Error' } },
        },
      ],
    });
    const p = podProblem(rerun)!;
    expect(p).toMatchObject({
      reason: 'CrashLoopBackOff',
      container: 'app',
      exitCode: 1,
      lastReason: 'Error',
      restarts: 2,
    });
    expect(describeProblem(p)).toBe(
      'pod rerun: CrashLoopBackOff: running again after exiting with code 1 (Error), not ready (container app, last exit code 1, 2 restarts)',
    );
    // A container that restarted after exit 0, or never restarted, is only not ready.
    const clean = pod('clean', {
      phase: 'Running',
      containerStatuses: [
        {
          name: 'app',
          image: 'x',
          imageID: '',
          ready: false,
          restartCount: 1,
          state: { running: {} },
          lastState: { terminated: { exitCode: 0, reason: 'Completed' } },
        },
      ],
    });
    expect(podProblem(clean)).toMatchObject({ reason: 'NotReady' });
  });
  it('a crash-looping container caught the instant after it exited (state terminated, "Error" in kubectl) is a crash loop; with restartPolicy Never it is a failure', () => {
    const status = {
      phase: 'Running',
      conditions: [{ type: 'Ready', status: 'False' }],
      containerStatuses: [
        {
          name: 'app',
          image: 'x',
          imageID: '',
          ready: false,
          restartCount: 3,
          state: { terminated: { exitCode: 1, reason: 'Error' } },
          lastState: { terminated: { exitCode: 1, reason: 'Error' } },
        },
      ],
    } as V1Pod['status'];
    const p = podProblem(pod('exited', status))!;
    expect(describeProblem(p)).toBe(
      'pod exited: CrashLoopBackOff: exited with code 1 (Error), restarting (container app, last exit code 1, 3 restarts)',
    );
    const once: V1Pod = {
      ...pod('once', {
        ...status,
        phase: 'Failed',
        containerStatuses: [{ ...status!.containerStatuses![0]!, restartCount: 0 }],
      }),
      spec: { restartPolicy: 'Never', containers: [{ name: 'app' }] },
    };
    expect(podProblem(once)).toMatchObject({ reason: 'Error', exitCode: 1 });
  });
  it("an image that is not on the node with pullPolicy Never (the real kubelet's ErrImageNeverPull) is severe too", () => {
    const never = pod('never', {
      phase: 'Pending',
      containerStatuses: [
        {
          name: 'app',
          image: 'x',
          imageID: '',
          ready: false,
          restartCount: 0,
          state: {
            waiting: {
              reason: 'ErrImageNeverPull',
              message: 'Container image "localhost/x:nope" is not present with pull policy of Never',
            },
          },
        },
      ],
    });
    expect(blamePod([readyPod, notReady, never])?.problem).toMatchObject({ pod: 'never', reason: 'ErrImageNeverPull' });
  });
  it("hopeless: a pod of the current template that waiting cannot fix; an old template's pod or a mere back-off is not", () => {
    const withImage = (p: V1Pod, image: string): V1Pod => ({ ...p, spec: { containers: [{ name: 'app', image }] } });
    const never = withImage(
      pod('never', {
        phase: 'Pending',
        containerStatuses: [
          {
            name: 'app',
            image: 'x',
            imageID: '',
            ready: false,
            restartCount: 0,
            state: { waiting: { reason: 'ErrImageNeverPull', message: 'not present with pull policy of Never' } },
          },
        ],
      }),
      'localhost/app:new',
    );
    const current = deploy({}, { template: { spec: { containers: [{ name: 'app', image: 'localhost/app:new' }] } } });
    expect(hopelessPod([readyPod, never], current)).toMatchObject({
      pod: 'never',
      reason: 'ErrImageNeverPull',
      container: 'app',
    });
    // The spec moved on (a fixed image): the old pod is being replaced, not a reason to give up.
    const fixed = deploy({}, { template: { spec: { containers: [{ name: 'app', image: 'localhost/app:fixed' }] } } });
    expect(hopelessPod([never], fixed)).toBeUndefined();
    // A crash loop or an image pull back-off may still recover (a registry blip): the timeout decides.
    expect(hopelessPod([withImage(crashing, 'localhost/app:new')], current)).toBeUndefined();
    const backoff = withImage(
      pod('pull', {
        phase: 'Pending',
        containerStatuses: [
          {
            name: 'app',
            image: 'x',
            imageID: '',
            ready: false,
            restartCount: 0,
            state: { waiting: { reason: 'ImagePullBackOff' } },
          },
        ],
      }),
      'localhost/app:new',
    );
    expect(hopelessPod([backoff], current)).toBeUndefined();
  });
});

describe('selectorString', () => {
  it('matchLabels and every matchExpressions operator', () => {
    expect(
      selectorString({
        matchLabels: { app: 'web', tier: 'front' },
        matchExpressions: [
          { key: 'env', operator: 'In', values: ['a', 'b'] },
          { key: 'x', operator: 'NotIn', values: ['c'] },
          { key: 'y', operator: 'Exists' },
          { key: 'z', operator: 'DoesNotExist' },
        ],
      }),
    ).toBe('app=web,tier=front,env in (a,b),x notin (c),y,!z');
  });
});
