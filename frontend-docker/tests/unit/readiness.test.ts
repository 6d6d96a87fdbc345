import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { checkBackend } from "@/lib/readiness";

// A real HTTP server on 127.0.0.1 stands in for the backend.
const servers: Server[] = [];
async function backend(handler: Parameters<typeof createServer>[1]): Promise<string> {
  const srv = createServer(handler);
  servers.push(srv);
  await new Promise<void>((resolve) => srv.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(srv.address() as AddressInfo).port}`;
}
async function closedPort(): Promise<string> {
  const url = await backend(() => {});
  const srv = servers.pop()!;
  await new Promise((resolve) => srv.close(resolve));
  return url;
}
afterEach(async () => {
  for (const srv of servers.splice(0)) {
    srv.closeAllConnections();
    await new Promise((resolve) => srv.close(resolve));
  }
});

describe("checkBackend", () => {
  it("is ready while the backend's /healthz answers 200 (a path prefix kept)", async () => {
    const seen: string[] = [];
    const url = await backend((req, res) => {
      seen.push(req.url ?? "");
      res.writeHead(200, { "content-type": "application/json" }).end('{"status":"ok"}');
    });
    expect(await checkBackend({ env: { BACKEND_URL: url } })).toEqual({ ready: true });
    expect(await checkBackend({ env: { BACKEND_URL: `${url}/todo/` } })).toEqual({ ready: true });
    expect(seen).toEqual(["/healthz", "/todo/healthz"]);
  });

  it("is not ready when nothing listens (a Service without endpoints)", async () => {
    const r = await checkBackend({ env: { BACKEND_URL: await closedPort() } });
    expect(r).toEqual({ ready: false, detail: "backend unreachable" });
  });

  it("is not ready when the backend answers an error", async () => {
    const url = await backend((_req, res) => res.writeHead(503).end("{}"));
    expect(await checkBackend({ env: { BACKEND_URL: url } })).toEqual({
      ready: false,
      detail: "backend answered 503",
    });
  });

  it("gives up within its timeout when the backend hangs", async () => {
    const url = await backend(() => {}); // never answers
    const t0 = Date.now();
    const r = await checkBackend({ env: { BACKEND_URL: url }, timeoutMs: 300 });
    expect(r).toEqual({ ready: false, detail: "backend did not answer within 300 ms" });
    expect(Date.now() - t0).toBeLessThan(2_000);
  });

  it("is not ready, naming the variable, when BACKEND_URL is invalid", async () => {
    const r = await checkBackend({ env: { BACKEND_URL: "ftp://x" } });
    expect(r.ready).toBe(false);
    expect(!r.ready && r.detail).toMatch(/BACKEND_URL/);
  });
});
