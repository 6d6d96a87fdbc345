#!/usr/bin/env -S npx zx
// Builds the frontend and backend images with whichever builder is here and
// prints their references for deploy. Tags are the git short SHA (+ -dirty),
// never latest: `minikube image load`/IfNotPresent never replace a known tag.
import { main } from './lib/main.ts';
import { options, settings } from './build-images/spec.ts';
import { renderBuildImages } from './build-images/view.ts';

await main({
  name: 'build-images',
  summary: 'build the frontend and backend images, tagged with the git short SHA',
  description: `Builder: --builder, else TODO_BUILDER, else minikube (image build into the node) when
TODO_TARGET=minikube and minikube is present, else docker when \`docker info\` answers, else buildah.
Images: <TODO_IMAGE_REGISTRY/>todo-chatbot-{frontend,backend}:<short sha>[-dirty]; -dirty when the
image folders have uncommitted changes. Sets the OCI label build args SOURCE, REVISION, VERSION and
CREATED (SOURCE_DATE_EPOCH makes CREATED reproducible). --context is the minikube profile. Prints the
references; with --output json its data is {images: {frontend, backend}, builder, tag} for deploy.`,
  touches: 'changes',
  options,
  settings,
  examples: [
    'npx zx scripts/build-images.ts',
    'npx zx scripts/build-images.ts --only backend --builder docker',
    'npx zx scripts/build-images.ts --dry-run --output json',
  ],
  run: async (ctx) => (await import('./build-images/run.ts')).runBuildImages(ctx),
  render: renderBuildImages,
});
