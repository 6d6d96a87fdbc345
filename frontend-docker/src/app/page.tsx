import { redirect } from "next/navigation";
import ChatApp from "@/components/ChatApp";
import { ConfigError } from "@/lib/auth";
import { currentSession } from "@/lib/session";

// Per-user page that reads the cookie: never prerender or cache it.
export const dynamic = "force-dynamic";

export default async function Home() {
  let session;
  try {
    session = await currentSession();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`configuration error: ${err.message}`);
      return (
        <main className="center">
          <p className="error" role="alert">
            The server is misconfigured (see its logs).
          </p>
        </main>
      );
    }
    throw err;
  }
  if (!session) redirect("/sign-in");
  return <ChatApp userId={session.userId} email={session.email} />;
}
