// `--import todo-chatbot-ops-ts-loader`: .ts modules load as their cached esbuild
// transform (hooks.mjs). Where Node has in-thread hooks (22.15+, 24) this is also
// faster and lighter than its own type stripping (measured: Node 24 0.19 s / 105 MB
// -> 0.11 s / 70 MB for a --help); Node 20 gets the off-thread hooks.
import module from 'node:module';
import path from 'node:path';

// V8's code cache (Node 22.1+) for every module after this one: the Kubernetes client's
// bundle alone then loads in 54 ms instead of 78 (Node 24). A directory cron's user
// cannot write leaves the cache off, nothing else.
module.enableCompileCache?.(path.resolve(import.meta.dirname, '../../../node_modules/.cache/todo-chatbot-ops-v8'));

if (module.registerHooks) module.registerHooks({ load: (await import('./hooks.mjs')).load });
else module.register('./hooks.mjs', import.meta.url);
