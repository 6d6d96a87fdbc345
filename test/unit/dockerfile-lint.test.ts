// Lints both Dockerfiles with a maintained parser (dockerfile-ast, the one the
// Dockerfile language server uses). Each rule is proven on a bad example too.
import fs from 'node:fs';
import path from 'node:path';
import { DockerfileParser, type Instruction } from 'dockerfile-ast';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/run.ts';

interface Problem {
  rule: string;
  line: number;
  message: string;
}

const flagsOf = (ins: Instruction): Map<string, string | null> => {
  const f =
    (ins as unknown as { getFlags?: () => { getName(): string; getValue(): string | null }[] }).getFlags?.() ?? [];
  return new Map(f.map((x) => [x.getName(), x.getValue()]));
};
const args = (ins: Instruction) => ins.getArguments().map((a) => a.getValue());

/** image[:tag][@digest] -> its tag and digest */
function splitRef(ref: string): { name: string; tag?: string; digest?: string } {
  const [rest, digest] = ref.split('@') as [string, string | undefined];
  const colon = rest.lastIndexOf(':');
  const tagged = colon > rest.lastIndexOf('/');
  return { name: tagged ? rest.slice(0, colon) : rest, tag: tagged ? rest.slice(colon + 1) : undefined, digest };
}

function lintDockerfile(text: string): Problem[] {
  const df = DockerfileParser.parse(text);
  const problems: Problem[] = [];
  const add = (rule: string, ins: Instruction | undefined, message: string) =>
    problems.push({ rule, line: (ins?.getRange().start.line ?? -1) + 1, message });
  const globals = new Map(
    df.getInitialARGs().map((a) => [a.getProperty()?.getName() ?? '', a.getProperty()?.getValue() ?? '']),
  );
  const expand = (s: string) =>
    s.replace(/\$\{(\w+)\}|\$(\w+)/g, (_, a: string, b: string) => globals.get(a ?? b) ?? '');

  const froms = df.getFROMs();
  if (!froms.length) return [{ rule: 'from', line: 0, message: 'no FROM' }];
  const stageNames = new Set<string>();
  for (const from of froms) {
    const raw = from.getImage() ?? '';
    const image = expand(raw);
    if (raw.includes('$') && !image) add('from-pinned', from, `FROM ${raw}: the ARG has no default`);
    else if (image !== 'scratch' && !stageNames.has(image)) {
      const ref = splitRef(image);
      if (!ref.tag && !ref.digest) add('from-pinned', from, `FROM ${image} is untagged (means latest)`);
      else if (ref.tag === 'latest') add('from-pinned', from, `FROM ${image} uses latest`);
    }
    const stage = from.getBuildStage();
    if (stage) stageNames.add(stage);
  }

  const all = df.getInstructions();
  const lastFrom = froms[froms.length - 1]!;
  const finalStage = all.filter((i) => i.getRange().start.line > lastFrom.getRange().start.line);
  const kw = (k: string) => finalStage.filter((i) => i.getKeyword() === k);

  for (const ins of all) {
    if (
      ins.getKeyword() === 'ADD' &&
      args(ins)
        .slice(0, -1)
        .some((a) => /^(https?|git|ssh):\/\/|^git@/.test(a))
    )
      add('no-add-url', ins, 'ADD of a URL: download in a RUN with a checksum, or COPY');
    if (ins.getKeyword() === 'RUN') {
      const body = ins.getArgumentsContent() ?? '';
      if (/\bapt(-get)?\s+(-\S+\s+)*(update|install)\b/.test(body) && !/rm -rf \/var\/lib\/apt\/lists/.test(body))
        add('apt-lists', ins, 'apt-get update/install without rm -rf /var/lib/apt/lists/* in the same RUN');
    }
  }

  const users = kw('USER');
  const user = users.length ? (args(users[users.length - 1]!)[0] ?? '') : '';
  const uid = user.split(':')[0]!;
  if (!user) add('non-root', lastFrom, 'the final stage sets no USER (runs as root)');
  else if (uid === 'root' || uid === '0') add('non-root', users[users.length - 1], `the final stage runs as ${user}`);
  else if (!/^\d+$/.test(uid))
    add(
      'non-root',
      users[users.length - 1],
      `USER ${user} is not numeric: Kubernetes runAsNonRoot cannot verify a name`,
    );

  const workdirs = kw('WORKDIR');
  const appDir = workdirs.length ? (args(workdirs[workdirs.length - 1]!)[0] ?? '') : '';
  for (const ins of [...kw('COPY'), ...kw('ADD')]) {
    const dest = args(ins).at(-1) ?? '';
    const isApp =
      !dest.startsWith('/') ||
      (appDir !== '' && appDir !== '/' && (dest === appDir || dest.startsWith(`${appDir.replace(/\/$/, '')}/`)));
    if (isApp && !flagsOf(ins).has('chown'))
      add('copy-chown', ins, `${ins.getKeyword()} to ${dest} (app files) without --chown`);
  }

  const hc = kw('HEALTHCHECK');
  const documented = df.getComments().some((c) => /probe path:\s*(GET\s+)?\/\S*/i.test(c.getContent()));
  if ((!hc.length || /^NONE\b/i.test(hc[0]!.getArgumentsContent() ?? '')) && !documented)
    add('healthcheck', lastFrom, 'no HEALTHCHECK in the final stage and no documented "probe path: /..." comment');

  for (const ins of [...kw('CMD'), ...kw('ENTRYPOINT')])
    if (!(ins.getArgumentsContent() ?? '').trim().startsWith('['))
      add('exec-form', ins, `${ins.getKeyword()} in shell form: the app is not PID 1 and misses SIGTERM`);
  return problems;
}

const dockerfiles = {
  frontend: { file: path.join(repoRoot, 'frontend-docker/Dockerfile'), uid: '10001', probe: '/api/health' },
  backend: { file: path.join(repoRoot, 'backend-docker/Dockerfile'), uid: '10001', probe: '/healthz' },
};

describe.each(Object.entries(dockerfiles))('%s Dockerfile', (_name, { file, uid, probe }) => {
  const text = fs.readFileSync(file, 'utf8');
  const df = DockerfileParser.parse(text);

  it('passes every rule', () => {
    expect(lintDockerfile(text)).toEqual([]);
  });

  it(`is multi-stage, runs as uid ${uid}, pins an overridable base by ARG`, () => {
    const froms = df.getFROMs();
    expect(froms.length).toBeGreaterThanOrEqual(3);
    const users = df.getInstructions().filter((i) => i.getKeyword() === 'USER');
    expect(users.at(-1)!.getArgumentsContent()).toBe(`${uid}:${uid}`);
    const base = df.getInitialARGs()[0]!.getProperty()!;
    expect(base.getValue()).toMatch(/^docker\.io\/library\/(node|python):\d+\.\d+\.\d+-(bookworm-slim|slim-bookworm)$/);
    expect(froms[0]!.getImage()).toBe(`\${${base.getName()}}`);
  });

  it('labels the image with the OCI source, revision, version and created build args, and documents the probe path', () => {
    for (const k of ['source', 'revision', 'version', 'created'])
      expect(text).toMatch(new RegExp(`org\\.opencontainers\\.image\\.${k}="\\$\\{${k.toUpperCase()}\\}"`));
    expect(text).toMatch(new RegExp(`Probe paths?: GET ${probe.replace('/', '\\/')}`));
    expect(text).toMatch(/^# What an app must follow to be built by this Dockerfile/m);
  });
});

describe('the lint rules catch what they are for', () => {
  const good = `ARG BASE=docker.io/library/node:24.21.0-bookworm-slim
FROM \${BASE} AS build
RUN npm ci
FROM scratch
COPY --from=build --chown=1001:1001 /src/app /app
WORKDIR /app
USER 1001
HEALTHCHECK CMD ["node", "-e", "0"]
CMD ["node", "server.js"]
`;
  const rules = (t: string) => lintDockerfile(t).map((p) => p.rule);

  it('a good file is clean', () => expect(rules(good)).toEqual([]));
  it.each([
    ['untagged FROM', good.replace('FROM scratch', 'FROM debian'), 'from-pinned'],
    ['latest FROM', good.replace('FROM scratch', 'FROM debian:latest'), 'from-pinned'],
    [
      'ARG without default',
      good.replace('ARG BASE=docker.io/library/node:24.21.0-bookworm-slim', 'ARG BASE'),
      'from-pinned',
    ],
    ['ADD of a URL', good.replace('RUN npm ci', 'ADD https://example.com/x.tgz /x.tgz'), 'no-add-url'],
    ['apt lists kept', good.replace('RUN npm ci', 'RUN apt-get update && apt-get install -y curl'), 'apt-lists'],
    [
      'apt lists removed in another RUN',
      good.replace('RUN npm ci', 'RUN apt-get update && apt-get install -y curl\nRUN rm -rf /var/lib/apt/lists/*'),
      'apt-lists',
    ],
    ['no USER', good.replace('USER 1001\n', ''), 'non-root'],
    ['USER root', good.replace('USER 1001', 'USER root'), 'non-root'],
    ['USER 0:0', good.replace('USER 1001', 'USER 0:0'), 'non-root'],
    ['USER by name', good.replace('USER 1001', 'USER node'), 'non-root'],
    ['COPY without --chown', good.replace('--chown=1001:1001 ', ''), 'copy-chown'],
    [
      'relative COPY without --chown',
      good.replace('CMD ["node", "server.js"]', 'COPY server.js ./\nCMD ["node", "server.js"]'),
      'copy-chown',
    ],
    ['no HEALTHCHECK, no probe path', good.replace(/HEALTHCHECK.*\n/, ''), 'healthcheck'],
    ['HEALTHCHECK NONE', good.replace(/HEALTHCHECK.*\n/, 'HEALTHCHECK NONE\n'), 'healthcheck'],
    ['shell-form CMD', good.replace('CMD ["node", "server.js"]', 'CMD node server.js'), 'exec-form'],
  ])('%s', (_what, text, rule) => {
    expect(rules(text)).toEqual([rule]);
  });
  it('a documented probe path stands in for HEALTHCHECK; the system COPY needs no --chown', () => {
    const t = good
      .replace(/HEALTHCHECK.*\n/, '# Probe path: GET /healthz (the chart probes it)\n')
      .replace('FROM scratch\n', 'FROM scratch\nCOPY --from=build /rootfs/ /\n');
    expect(rules(t)).toEqual([]);
  });
});
