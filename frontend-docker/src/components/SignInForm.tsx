"use client";

import { useState, type FormEvent } from "react";

export default function SignInForm({ expired = false }: { expired?: boolean }) {
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const res = await fetch("/api/auth/sign-in", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ email, password }),
      });
      if (res.ok) {
        // Full navigation so the server-rendered page sees the new cookie.
        window.location.assign("/");
        return;
      }
      const body = (await res.json().catch(() => null)) as { error?: string } | null;
      setError(body?.error ?? `Sign-in failed (${res.status}).`);
    } catch {
      setError("Cannot reach the server. Check your connection.");
    }
    setBusy(false);
  }

  return (
    <form className="panel signin" onSubmit={submit} aria-labelledby="signin-heading">
      <h1 id="signin-heading">Sign in</h1>
      {expired && !error && (
        <p className="muted" role="status">
          Your session has ended. Please sign in again.
        </p>
      )}
      <label htmlFor="email">Email</label>
      <input
        id="email"
        type="email"
        autoComplete="email"
        required
        value={email}
        onChange={(e) => setEmail(e.target.value)}
      />
      <label htmlFor="password">Password</label>
      <input
        id="password"
        type="password"
        autoComplete="current-password"
        aria-describedby="password-hint"
        value={password}
        onChange={(e) => setPassword(e.target.value)}
      />
      <p id="password-hint" className="muted small">
        Only needed if the server sets a demo password.
      </p>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      <button type="submit" disabled={busy}>
        {busy ? "Signing in…" : "Sign in"}
      </button>
    </form>
  );
}
