// deploy's and scale's own settings, apart from their run modules: the entry
// files and config's key check read them without loading the Kubernetes client.
import { bool, defineSettings, durationSeconds, int, oneOf, setting } from '../kit/settings.ts';

export const deploySettings = defineSettings({
  TODO_DEPLOY_POD_SECURITY: setting(
    oneOf('restricted', 'baseline'),
    'restricted',
    'Pod Security level of a namespace deploy creates',
  ),
  TODO_DEPLOY_SETTLE: setting(
    durationSeconds,
    5,
    'after a rollout, seconds to watch the changed pods for a crash (0: off)',
  ),
  TODO_DEPLOY_DRIFT: setting(
    bool,
    true,
    "compare the release's live objects with its latest revision (a read and a server dry-run apply per object) and repair what drifted",
  ),
});

export const scaleSettings = defineSettings({
  TODO_SCALE_MAX: setting(int(1, 100), 10, 'the most replicas scale accepts'),
});
