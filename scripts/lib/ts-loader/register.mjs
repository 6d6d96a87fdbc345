// `--import todo-chatbot-ops-ts-loader`: .ts modules load as their cached esbuild
// transform (hooks.mjs). Where Node has in-thread hooks (22.15+, 24) this is also
// faster and lighter than its own type stripping (measured: Node 24 0.19 s / 105 MB
// -> 0.11 s / 70 MB for a --help); Node 20 gets the off-thread hooks.
import module from 'node:module';

if (module.registerHooks) module.registerHooks({ load: (await import('./hooks.mjs')).load });
else module.register('./hooks.mjs', import.meta.url);
