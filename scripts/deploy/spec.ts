// deploy's options and settings, apart from its run module (--help stays fast).
// The settings live with the release code: config checks keys against them.
import type { Context, OptionSpec } from '../lib/kit/cli.ts';
import { deploySettings } from '../lib/release/settings.ts';

export const options = {
  image: {
    type: 'list',
    arg: 'COMPONENT=REF',
    help: 'image for frontend or backend, e.g. backend=registry.io/todo-chatbot-backend:3f2a1bc',
  },
  images: { type: 'string', arg: 'FILE', help: 'images from build-images --output json' },
  build: { type: 'boolean', help: 'build the images first (runs build-images) and deploy those' },
  values: { type: 'list', short: 'f', arg: 'FILE', help: "extra values file(s), after the profile's" },
  'no-rollback': { type: 'boolean', help: 'leave a failed revision in place' },
  'reset-scale': { type: 'boolean', help: "use the profile's replica values, not those set by scale" },
} as const satisfies Record<string, OptionSpec>;

export const settings = deploySettings;

export type DeployContext = Context<typeof options, typeof settings>;
