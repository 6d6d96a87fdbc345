// Runs once when the Next.js server starts. A production server without a
// sign-in password would let anyone in under any email, so it stops here with
// the reason, before it ever answers a request (a pod then crash-loops with
// that line in its log instead of serving an open app).
import { ConfigError, signInPassword } from "@/lib/auth";

export function register(): void {
  if (process.env.NEXT_RUNTIME !== "nodejs") return;
  if (process.env.NEXT_PHASE === "phase-production-build") return; // `next build` serves nobody
  try {
    signInPassword();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    console.error(`configuration error: ${err.message}`);
    process.exit(78); // EX_CONFIG
  }
}
