// Readiness probe for Kubernetes: 200 while the backend answers, else 503, so
// a backend outage takes this pod out of the Service without restarting it.
import { checkBackend } from "@/lib/readiness";

export const dynamic = "force-dynamic";

// The kubelet asks every few seconds: log when the answer changes, not each time.
let lastDetail: string | null = null;

export async function GET(): Promise<Response> {
  const r = await checkBackend();
  const detail = r.ready ? null : r.detail;
  if (detail !== lastDetail) console.error(detail ? `not ready: ${detail}` : "ready again: the backend answers");
  lastDetail = detail;
  return Response.json(r.ready ? { status: "ready" } : { status: "unavailable", detail: r.detail }, {
    status: r.ready ? 200 : 503,
    headers: { "Cache-Control": "no-store" },
  });
}
