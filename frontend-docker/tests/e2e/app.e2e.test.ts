// End to end: the production build (standalone server) against the real
// backend, driven in Debian's headless Chromium by playwright-core.
// Everything listens on 127.0.0.1 only, on free ports, with a fresh SQLite
// database and a random secret; both servers are stopped at the end.
//
// Needs: /usr/bin/chromium (tests/e2e-setup.sh) and backend-docker/.venv
// (backend-docker/tests/run.sh). Set E2E_SKIP_BUILD=1 to reuse an existing
// build while iterating on this file.
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";

const FRONTEND_DIR = path.resolve(__dirname, "../..");
const BACKEND_DIR = path.resolve(process.env.BACKEND_DIR ?? path.join(FRONTEND_DIR, "../backend-docker"));
const BACKEND_PYTHON = path.join(BACKEND_DIR, ".venv/bin/python");
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const ARTIFACTS = path.join(FRONTEND_DIR, "tests/e2e/artifacts");
// Flags that keep Chromium off the network (this machine has none) and
// quiet; playwright adds --headless and --user-data-dir itself.
const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

const SECRET = randomBytes(32).toString("hex");
const PASSWORD = "e2e-demo-password";
const EMAIL = "e2e.user@example.com";
const UI_TIMEOUT = 20_000;

// ---------------------------------------------------------------- processes

class Service {
  readonly output: string[] = [];
  exitCode: number | null = null;
  readonly exited: Promise<void>;

  constructor(
    readonly name: string,
    readonly child: ChildProcess,
  ) {
    const keep = (chunk: Buffer) => {
      this.output.push(...chunk.toString().split("\n").filter(Boolean));
      if (this.output.length > 400) this.output.splice(0, this.output.length - 400);
    };
    child.stdout?.on("data", keep);
    child.stderr?.on("data", keep);
    this.exited = new Promise((resolve) =>
      child.on("exit", (code, signal) => {
        this.exitCode = code ?? (signal ? 128 : 1);
        resolve();
      }),
    );
  }

  get running(): boolean {
    return this.exitCode === null;
  }

  tail(n = 40): string {
    return `--- last output of ${this.name} ---\n${this.output.slice(-n).join("\n")}`;
  }
}

function start(name: string, cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): Service {
  // detached: own process group, so stop() also reaches any worker processes.
  const child = spawn(cmd, args, { cwd, env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  return new Service(name, child);
}

async function stop(svc: Service | undefined): Promise<void> {
  if (!svc || !svc.running || svc.child.pid === undefined) return;
  const group = -svc.child.pid;
  try {
    process.kill(group, "SIGTERM");
  } catch {
    return; // already gone
  }
  const timer = new Promise((r) => setTimeout(r, 10_000));
  await Promise.race([svc.exited, timer]);
  if (svc.running) {
    try {
      process.kill(group, "SIGKILL");
    } catch {
      /* gone meanwhile */
    }
    await svc.exited;
  }
}

function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<void> {
  const svc = start(`${cmd} ${args.join(" ")}`, cmd, args, cwd, env);
  return svc.exited.then(() => {
    if (svc.exitCode !== 0) throw new Error(`${svc.name} exited with ${svc.exitCode}\n${svc.tail(60)}`);
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** Poll a health URL until it answers 200, the process dies, or the deadline passes. */
async function waitForHealthy(svc: Service, url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = "no answer yet";
  while (Date.now() < deadline) {
    if (!svc.running) throw new Error(`${svc.name} exited (code ${svc.exitCode}) before ${url} was healthy\n${svc.tail()}`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      if (res.ok) return;
      last = `HTTP ${res.status}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${svc.name} not healthy at ${url} after ${timeoutMs} ms (${last})\n${svc.tail()}`);
}

// ---------------------------------------------------------------- fixtures

let backend: Service | undefined;
let frontend: Service | undefined;
let context: BrowserContext | undefined;
let page: Page;
let baseUrl = "";
const tmpDirs: string[] = [];
const pageErrors: string[] = [];

function tmp(prefix: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  tmpDirs.push(dir);
  return dir;
}

beforeAll(async () => {
  // Preconditions first, with the fix in the message: never skip silently.
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium not found at ${CHROMIUM}. Install it with: bash frontend-docker/tests/e2e-setup.sh`);
  }
  if (!existsSync(BACKEND_PYTHON)) {
    throw new Error(
      `Backend virtualenv not found (${BACKEND_PYTHON}). Run backend-docker/tests/run.sh first; it creates backend-docker/.venv.`,
    );
  }

  const buildEnv = { ...process.env, NEXT_TELEMETRY_DISABLED: "1" };
  const serverJs = path.join(FRONTEND_DIR, ".next/standalone/server.js");
  if (process.env.E2E_SKIP_BUILD === "1" && existsSync(serverJs)) {
    console.log("e2e: E2E_SKIP_BUILD=1, reusing the existing build");
  } else {
    const t0 = Date.now();
    // npm run build = next build + copying static assets into the standalone folder.
    await run("npm", ["run", "build"], FRONTEND_DIR, buildEnv);
    console.log(`e2e: next build took ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  }

  const [backendPort, frontendPort] = await Promise.all([freePort(), freePort()]);
  baseUrl = `http://127.0.0.1:${frontendPort}`;

  // The backend must use its no-LLM parser and this run's SQLite file, whatever
  // the calling shell has set.
  const backendEnv: NodeJS.ProcessEnv = { ...process.env };
  for (const k of ["OPENAI_API_KEY", "OPENAI_BASE_URL", "DATABASE_URL", "MCP_SERVER_URL", "WEB_CONCURRENCY"]) {
    delete backendEnv[k];
  }
  Object.assign(backendEnv, {
    BETTER_AUTH_SECRET: SECRET,
    HOST: "127.0.0.1",
    PORT: String(backendPort),
    SQLITE_PATH: path.join(tmp("todo-e2e-db-"), "todo.db"),
  });
  backend = start("backend", BACKEND_PYTHON, ["-m", "app"], BACKEND_DIR, backendEnv);

  frontend = start("frontend", process.execPath, [serverJs], FRONTEND_DIR, {
    ...process.env,
    NODE_ENV: "production",
    NEXT_TELEMETRY_DISABLED: "1",
    HOSTNAME: "127.0.0.1",
    PORT: String(frontendPort),
    BACKEND_URL: `http://127.0.0.1:${backendPort}`,
    BETTER_AUTH_SECRET: SECRET,
    DEMO_PASSWORD: PASSWORD,
  });

  await Promise.all([
    waitForHealthy(backend, `http://127.0.0.1:${backendPort}/healthz`, 90_000),
    waitForHealthy(frontend, `${baseUrl}/api/health`, 60_000),
  ]);

  context = await chromium.launchPersistentContext(tmp("todo-e2e-chromium-"), {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
  });
  page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(UI_TIMEOUT);
  page.on("pageerror", (err) => pageErrors.push(err.message));
});

beforeEach((ctx) => {
  ctx.onTestFailed(async () => {
    console.error(backend?.tail(30) ?? "backend not started");
    console.error(frontend?.tail(30) ?? "frontend not started");
    if (page) {
      mkdirSync(ARTIFACTS, { recursive: true });
      const file = path.join(ARTIFACTS, `${ctx.task.name.replace(/[^a-z0-9]+/gi, "-")}.png`);
      await page.screenshot({ path: file, fullPage: true }).catch(() => {});
      console.error(`screenshot: ${file}`);
    }
  });
});

afterAll(async () => {
  await context?.close().catch(() => {});
  await Promise.all([stop(frontend), stop(backend)]);
  for (const dir of tmpDirs) rmSync(dir, { recursive: true, force: true });
});

// ---------------------------------------------------------------- helpers

const conversation = () => page.getByRole("list", { name: "Conversation" });
const taskList = () => page.getByRole("list", { name: "Task list" });
const milkCheckbox = () => page.getByRole("checkbox", { name: "buy milk" });

async function signIn(password: string) {
  await page.getByLabel("Email", { exact: true }).fill(EMAIL);
  await page.getByLabel("Password", { exact: true }).fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
}

/** Send a chat message and wait until the assistant's reply to it is shown. */
async function say(text: string): Promise<string> {
  const replies = conversation().locator("li.msg-assistant:not(.pending)");
  const before = await replies.count();
  await page.getByLabel("Message", { exact: true }).fill(text);
  await page.getByRole("button", { name: "Send" }).click();
  await expect.poll(() => replies.count(), { timeout: UI_TIMEOUT }).toBe(before + 1);
  await expect(conversation().locator("li.msg-error").count()).resolves.toBe(0);
  return (await replies.last().locator(".msg-text").textContent()) ?? "";
}

async function storedConversationId(): Promise<number | null> {
  return page.evaluate(() => {
    const key = Object.keys(localStorage).find((k) => k.startsWith("todo-chat:v1:"));
    return key ? (JSON.parse(localStorage.getItem(key) ?? "{}").conversationId ?? null) : null;
  });
}

// ---------------------------------------------------------------- the flow

describe("Todo Chatbot end to end", () => {
  it("serves health and refuses API calls without a session", async () => {
    const health = await fetch(`${baseUrl}/api/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: "ok" });

    const tasks = await fetch(`${baseUrl}/api/tasks`);
    expect(tasks.status).toBe(401);
    expect(await tasks.json()).toEqual({ error: "Not signed in." });

    // A forged cookie is no session either, and the page sends it to sign-in.
    const forged = { headers: { cookie: "todo_token=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1X3gifQ.forged" }, redirect: "manual" as const };
    expect((await fetch(`${baseUrl}/api/tasks`, forged)).status).toBe(401);
    const home = await fetch(`${baseUrl}/`, forged);
    expect(home.status).toBe(307);
    expect(home.headers.get("location")).toMatch(/\/sign-in$/);
  });

  it("redirects to sign-in, rejects a wrong password, then signs in with an httpOnly cookie", async () => {
    await page.goto(`${baseUrl}/`);
    await page.waitForURL(`${baseUrl}/sign-in`);

    await signIn("wrong-password");
    // Scoped to the form: Next's route announcer is also a role="alert".
    await page.getByRole("form", { name: "Sign in" }).getByRole("alert").getByText(/wrong email or password/i).waitFor();

    await signIn(PASSWORD);
    await page.waitForURL(`${baseUrl}/`);
    await page.getByText(`Signed in as ${EMAIL}`).waitFor();

    const cookie = (await context!.cookies(baseUrl)).find((c) => c.name === "todo_token");
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: "Lax", secure: false });
    // The token is for page-less server use only.
    expect(await page.evaluate(() => document.cookie)).not.toContain("todo_token");
  });

  it("adds a task through the chat and shows it in the task list", async () => {
    await page.getByText("No tasks yet.").waitFor();
    await say("add buy milk");
    await milkCheckbox().waitFor();
    expect(await milkCheckbox().isChecked()).toBe(false);
    expect(await storedConversationId()).toBeGreaterThan(0);
  });

  it("completes the task through the chat and shows it completed", async () => {
    const item = taskList().locator("li", { has: milkCheckbox() });
    const id = Number(((await item.locator(".task-id").textContent()) ?? "").replace("#", ""));
    expect(id).toBe(1); // fresh database: the brief's "mark 1 done" is this task

    await say(`mark ${id} done`);
    await expect.poll(() => milkCheckbox().isChecked(), { timeout: UI_TIMEOUT }).toBe(true);
    await item.getByText("done", { exact: true }).waitFor();
  });

  it("keeps the conversation across a reload and continues it", async () => {
    const conversationId = await storedConversationId();
    await page.reload();

    await conversation().getByText("add buy milk", { exact: true }).waitFor();
    await conversation().getByText("mark 1 done", { exact: true }).waitFor();
    expect(await conversation().locator("li.msg-assistant").count()).toBe(2);
    await expect.poll(() => milkCheckbox().isChecked(), { timeout: UI_TIMEOUT }).toBe(true);

    // The next message goes to the same server-side conversation.
    const reply = await say("show completed");
    expect(reply).toMatch(/buy milk/i);
    expect(await storedConversationId()).toBe(conversationId);

    // For people reviewing a run: what the user saw (gitignored).
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: path.join(ARTIFACTS, "chat.png") });
  });

  it("toggles the task back from the list itself", async () => {
    await milkCheckbox().click();
    await expect.poll(() => milkCheckbox().isChecked(), { timeout: UI_TIMEOUT }).toBe(false);
    await page.getByText("1 pending, 0 done").waitFor();
    // It was saved by the backend, not just flipped in the page.
    await page.reload();
    await page.getByText("1 pending, 0 done").waitFor();
    expect(await milkCheckbox().isChecked()).toBe(false);
  });

  it("signs out, and signing back in shows the same conversation", async () => {
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.waitForURL(`${baseUrl}/sign-in`);
    expect((await context!.cookies(baseUrl)).find((c) => c.name === "todo_token")).toBeUndefined();

    await signIn(PASSWORD);
    await page.waitForURL(`${baseUrl}/`);
    await conversation().getByText("add buy milk", { exact: true }).waitFor();
    expect(pageErrors).toEqual([]);
  });
});

describe("a production server without a sign-in password", () => {
  it("refuses to start, naming DEMO_PASSWORD, before answering anything", async () => {
    const port = await freePort();
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      NODE_ENV: "production",
      NEXT_TELEMETRY_DISABLED: "1",
      HOSTNAME: "127.0.0.1",
      PORT: String(port),
      BACKEND_URL: "http://127.0.0.1:9",
      BETTER_AUTH_SECRET: SECRET,
    };
    delete env.DEMO_PASSWORD;
    const open = start("frontend-open", process.execPath, [path.join(FRONTEND_DIR, ".next/standalone/server.js")], FRONTEND_DIR, env);
    try {
      // It must end by itself; the race only bounds a failure of this test.
      const ended = await Promise.race([open.exited.then(() => true), new Promise((r) => setTimeout(() => r(false), 30_000))]);
      expect(ended, open.tail()).toBe(true);
      expect(open.exitCode).not.toBe(0);
      expect(open.output.join("\n")).toContain("DEMO_PASSWORD is not set");
    } finally {
      await stop(open);
    }
  });
});
