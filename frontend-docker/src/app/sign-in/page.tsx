import type { Metadata } from "next";
import { redirect } from "next/navigation";
import SignInForm from "@/components/SignInForm";
import { openSignIn } from "@/lib/auth";
import { currentSession } from "@/lib/session";

export const dynamic = "force-dynamic";
export const metadata: Metadata = { title: "Sign in · Todo Chatbot" };

export default async function SignInPage({ searchParams }: { searchParams: Promise<{ expired?: string }> }) {
  // Already signed in: go straight to the app. A config error is reported
  // by the sign-in request itself, so the form still renders.
  const session = await currentSession().catch(() => null);
  if (session) redirect("/");
  return (
    <main className="center">
      {openSignIn() && (
        <p className="notice" role="note">
          Development mode: no DEMO_PASSWORD is set, so any email signs in with any password. A deployed
          (production) server refuses to start like this.
        </p>
      )}
      <SignInForm expired={(await searchParams).expired === "1"} />
    </main>
  );
}
