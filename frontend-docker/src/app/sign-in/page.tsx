import type { Metadata } from "next";
import { redirect } from "next/navigation";
import SignInForm from "@/components/SignInForm";
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
      <SignInForm expired={(await searchParams).expired === "1"} />
    </main>
  );
}
