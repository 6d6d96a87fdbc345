// Readiness of this frontend: it can serve a signed-in user only while its
// backend answers. Kubernetes takes a not-ready pod out of the Service without
// restarting it, so a backend outage never restarts healthy frontend pods
// (liveness, /api/health, stays dependency-free for that reason).
import type { Env } from "./auth";
import { backendBaseUrl } from "./backend";

// Below the chart's readiness timeoutSeconds (3): the probe gets our answer, not its own timeout.
export const READY_TIMEOUT_MS = 2_000;

export type Readiness = { ready: true } | { ready: false; detail: string };

/**
 * Ask the backend's liveness route through BACKEND_URL. Through a Kubernetes
 * Service that only reaches backend pods that are themselves ready (database
 * included), so it is the backend's readiness without a second database query
 * per probe.
 */
export async function checkBackend(
  opts: { env?: Env; fetchImpl?: typeof fetch; timeoutMs?: number } = {},
): Promise<Readiness> {
  const { env = process.env, fetchImpl = fetch, timeoutMs = READY_TIMEOUT_MS } = opts;
  let url: string;
  try {
    url = `${backendBaseUrl(env)}/healthz`;
  } catch (err) {
    return { ready: false, detail: `configuration: ${(err as Error).message}` };
  }
  try {
    const res = await fetchImpl(url, { cache: "no-store", signal: AbortSignal.timeout(timeoutMs) });
    await res.body?.cancel().catch(() => {});
    return res.ok ? { ready: true } : { ready: false, detail: `backend answered ${res.status}` };
  } catch (err) {
    const name = (err as { name?: string })?.name;
    if (name === "TimeoutError" || name === "AbortError") {
      return { ready: false, detail: `backend did not answer within ${timeoutMs} ms` };
    }
    return { ready: false, detail: "backend unreachable" };
  }
}
