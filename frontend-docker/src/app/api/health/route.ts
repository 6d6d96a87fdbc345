// Liveness/readiness probe for Kubernetes: no dependencies on purpose, so a
// slow or down backend never gets healthy frontend pods restarted.
export const dynamic = "force-dynamic";

export function GET(): Response {
  return Response.json({ status: "ok" }, { headers: { "Cache-Control": "no-store" } });
}
