// One reading of a pod's status for every caller: Ready, serving, and the
// class of a failing reason (what waiting may fix and what it cannot).
import type { V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import {
  isContainerFailure,
  isFailing,
  isReady,
  isServing,
  oomKilled,
  reasonClass,
  waitingCannotFix,
} from '../../scripts/lib/kube/pod-status.ts';

const pod = (o: { ready?: boolean; phase?: string; deleting?: boolean }): V1Pod => ({
  metadata: { name: 'p', ...(o.deleting ? { deletionTimestamp: new Date() } : {}) },
  status: {
    phase: o.phase ?? 'Running',
    conditions: [
      { type: 'PodScheduled', status: 'True' },
      ...(o.ready === undefined ? [] : [{ type: 'Ready', status: o.ready ? 'True' : 'False' }]),
    ],
  },
});

describe('isReady and isServing', () => {
  it('Ready is the Ready condition, True', () => {
    expect(isReady(pod({ ready: true }))).toBe(true);
    expect(isReady(pod({ ready: false }))).toBe(false);
    expect(isReady(pod({}))).toBe(false);
  });
  it('serving also needs Running and no deletion: a Terminating pod may still be Ready', () => {
    expect(isServing(pod({ ready: true }))).toBe(true);
    expect(isServing(pod({ ready: true, deleting: true }))).toBe(false);
    expect(isServing(pod({ ready: true, phase: 'Pending' }))).toBe(false);
    expect(isServing(pod({ ready: false }))).toBe(false);
  });
});

describe('reason classes', () => {
  it("classifies the kubelet's and the scheduler's reasons", () => {
    for (const r of ['ErrImagePull', 'ImagePullBackOff', 'ErrImageNeverPull', 'InvalidImageName'])
      expect(reasonClass(r)).toBe('image');
    for (const r of ['CreateContainerConfigError', 'CreateContainerError', 'RunContainerError'])
      expect(reasonClass(r)).toBe('config');
    for (const r of ['CrashLoopBackOff', 'Error']) expect(reasonClass(r)).toBe('crash');
    expect(reasonClass('OOMKilled')).toBe('oom');
    expect(reasonClass('Unschedulable')).toBe('unschedulable');
    for (const r of ['Failed', 'Evicted']) expect(reasonClass(r)).toBe('pod');
  });
  it('a reason that is not a failure has no class, including names of Object.prototype', () => {
    for (const r of [
      'NotReady',
      'Pending',
      'ContainerCreating',
      'PodInitializing',
      'Completed',
      'constructor',
      'toString',
      undefined,
    ]) {
      expect(reasonClass(r)).toBeUndefined();
      expect(isFailing(r)).toBe(false);
    }
  });
  it('a container failure is a failing reason of a scheduled pod; not being scheduled, or a failed pod, is not one', () => {
    expect(
      ['ImagePullBackOff', 'CreateContainerError', 'CrashLoopBackOff', 'Error', 'OOMKilled'].every(isContainerFailure),
    ).toBe(true);
    expect(['Unschedulable', 'Failed', 'Evicted', 'NotReady'].some(isContainerFailure)).toBe(false);
    expect(['Unschedulable', 'Failed', 'Evicted'].every(isFailing)).toBe(true);
  });
  it('waiting cannot fix an image the node never pulls or a name that does not parse; a back-off or a crash loop may recover', () => {
    expect(waitingCannotFix('ErrImageNeverPull')).toBe(true);
    expect(waitingCannotFix('InvalidImageName')).toBe(true);
    for (const r of [
      'ImagePullBackOff',
      'ErrImagePull',
      'CrashLoopBackOff',
      'CreateContainerConfigError',
      'OOMKilled',
      undefined,
    ])
      expect(waitingCannotFix(r)).toBe(false);
  });
  it('OOMKilled now or the last time the container died', () => {
    expect(oomKilled({ pod: 'p', reason: 'CrashLoopBackOff', lastReason: 'OOMKilled' })).toBe(true);
    expect(oomKilled({ pod: 'p', reason: 'OOMKilled' })).toBe(true);
    expect(oomKilled({ pod: 'p', reason: 'CrashLoopBackOff', lastReason: 'Error' })).toBe(false);
  });
});
