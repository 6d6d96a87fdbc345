// Liveness (and startup) probe for Kubernetes: the process is alive and serves
// requests. No dependencies on purpose, so a slow or down backend never gets
// healthy frontend pods restarted; whether the pod can serve users is
// readiness, /api/ready.
export const dynamic = "force-dynamic";

export function GET(): Response {
  return Response.json({ status: "ok" }, { headers: { "Cache-Control": "no-store" } });
}
