"use client";

import { useCallback, useEffect, useRef, useState, type FormEvent } from "react";
import {
  EMPTY_CONVERSATION,
  clearConversation,
  loadConversation,
  saveConversation,
  type ChatMessage,
  type StoredConversation,
} from "@/lib/conversation-store";
import { MAX_MESSAGE_LENGTH, toolNames, type ChatReply, type Task } from "@/lib/types";

interface Props {
  userId: string;
  email: string;
}

type ApiResult<T> = { ok: true; data: T } | { ok: false; status: number; error: string };

// All calls go to this app's own /api routes (same origin, cookie attached);
// the browser never learns where the backend is.
async function api<T>(path: string, init?: RequestInit): Promise<ApiResult<T>> {
  let res: Response;
  try {
    res = await fetch(path, { ...init, cache: "no-store", headers: { "Content-Type": "application/json", ...init?.headers } });
  } catch {
    return { ok: false, status: 0, error: "Cannot reach the server. Check your connection." };
  }
  const body = (await res.json().catch(() => null)) as unknown;
  if (res.ok) return { ok: true, data: body as T };
  const error =
    body && typeof body === "object" && typeof (body as { error?: unknown }).error === "string"
      ? (body as { error: string }).error
      : `Request failed (${res.status}).`;
  return { ok: false, status: res.status, error };
}

// Called on any 401: the session ended (expired, signed out elsewhere, or
// rejected by the backend); the sign-in page says so.
function goToSignIn() {
  window.location.assign("/sign-in?expired=1");
}

export default function ChatApp({ userId, email }: Props) {
  const [conv, setConv] = useState<StoredConversation>(EMPTY_CONVERSATION);
  const [hydrated, setHydrated] = useState(false);
  const [input, setInput] = useState("");
  const [sending, setSending] = useState(false);
  const [tasks, setTasks] = useState<Task[] | null>(null);
  const [tasksError, setTasksError] = useState<string | null>(null);
  const logEnd = useRef<HTMLLIElement>(null);
  const inputRef = useRef<HTMLInputElement>(null);

  const refreshTasks = useCallback(async () => {
    const r = await api<Task[]>("/api/tasks");
    if (r.ok) {
      setTasks(r.data);
      setTasksError(null);
    } else if (r.status === 401) {
      goToSignIn();
    } else {
      setTasksError(r.error);
    }
  }, []);

  // localStorage only exists in the browser, so load after the first render.
  useEffect(() => {
    setConv(loadConversation(window.localStorage, userId));
    setHydrated(true);
    void refreshTasks();
  }, [userId, refreshTasks]);

  useEffect(() => {
    if (hydrated) saveConversation(window.localStorage, userId, conv);
  }, [hydrated, userId, conv]);

  useEffect(() => {
    logEnd.current?.scrollIntoView({ block: "end" });
  }, [conv.messages.length]);

  const append = (...msgs: ChatMessage[]) => setConv((c) => ({ ...c, messages: [...c.messages, ...msgs] }));

  async function send(e: FormEvent) {
    e.preventDefault();
    const message = input.trim();
    if (!message || sending) return;
    setSending(true);
    setInput("");
    append({ role: "user", content: message });

    const post = (conversationId: number | null) =>
      api<ChatReply>("/api/chat", {
        method: "POST",
        body: JSON.stringify(conversationId ? { conversation_id: conversationId, message } : { message }),
      });

    let r = await post(conv.conversationId);
    // The stored conversation may be gone (e.g. a fresh database after a
    // redeploy): start a new one instead of failing forever.
    if (!r.ok && r.status === 404 && conv.conversationId) r = await post(null);

    if (r.ok) {
      const reply = r.data;
      setConv((c) => ({
        conversationId: reply.conversation_id,
        messages: [...c.messages, { role: "assistant", content: reply.response, tools: toolNames(reply.tool_calls) }],
      }));
      // The agent may have changed tasks: show what it did.
      await refreshTasks();
    } else if (r.status === 401) {
      goToSignIn();
    } else {
      append({ role: "error", content: r.error });
    }
    setSending(false);
    inputRef.current?.focus();
  }

  async function toggle(task: Task) {
    const r = await api<Task>(`/api/tasks/${task.id}/complete`, {
      method: "PATCH",
      body: JSON.stringify({ completed: !task.completed }),
    });
    if (!r.ok) {
      if (r.status === 401) return goToSignIn();
      setTasksError(r.error);
    }
    await refreshTasks();
  }

  function newConversation() {
    clearConversation(window.localStorage, userId);
    setConv(EMPTY_CONVERSATION);
    inputRef.current?.focus();
  }

  async function signOut() {
    await api("/api/auth/sign-out", { method: "POST" });
    window.location.assign("/sign-in");
  }

  const pending = tasks?.filter((t) => !t.completed).length ?? 0;
  const done = tasks?.filter((t) => t.completed).length ?? 0;

  return (
    <>
      <header className="topbar">
        <h1>Todo Chatbot</h1>
        <div className="who">
          <span>
            Signed in as <strong>{email || userId}</strong>
          </span>
          <button type="button" className="secondary" onClick={signOut}>
            Sign out
          </button>
        </div>
      </header>

      <main className="layout">
        <section className="panel chat" aria-labelledby="chat-heading">
          <div className="panel-head">
            <h2 id="chat-heading">Chat</h2>
            <button type="button" className="secondary" onClick={newConversation} disabled={sending}>
              New conversation
            </button>
          </div>
          <ol className="messages" aria-label="Conversation" aria-live="polite">
            {conv.messages.length === 0 && (
              <li className="hint">
                Try “add buy milk”, “what&apos;s pending?”, “mark 1 done”, “rename 1 to oat milk” or “delete task 1”.
              </li>
            )}
            {conv.messages.map((m, i) => (
              <li key={i} className={`msg msg-${m.role}`}>
                <span className="sr-only">{m.role === "user" ? "You: " : m.role === "assistant" ? "Assistant: " : "Error: "}</span>
                <span className="msg-text">{m.content}</span>
                {m.tools && m.tools.length > 0 && <span className="msg-tools">used {m.tools.join(", ")}</span>}
              </li>
            ))}
            {sending && (
              <li className="msg msg-assistant pending" role="status">
                Thinking…
              </li>
            )}
            <li ref={logEnd} aria-hidden="true" className="end" />
          </ol>
          <form className="composer" onSubmit={send} aria-label="Ask the assistant">
            <label htmlFor="chat-input" className="sr-only">
              Message
            </label>
            <input
              id="chat-input"
              ref={inputRef}
              type="text"
              autoComplete="off"
              placeholder="Ask me to add, list, complete, rename or delete tasks"
              maxLength={MAX_MESSAGE_LENGTH}
              value={input}
              onChange={(e) => setInput(e.target.value)}
              disabled={!hydrated}
              autoFocus
            />
            <button type="submit" disabled={sending || !input.trim()}>
              Send
            </button>
          </form>
        </section>

        <section className="panel tasks" aria-labelledby="tasks-heading">
          <div className="panel-head">
            <h2 id="tasks-heading">Tasks</h2>
            <button type="button" className="secondary" onClick={() => void refreshTasks()}>
              Refresh
            </button>
          </div>
          {tasksError && (
            <p className="error" role="alert">
              {tasksError}
            </p>
          )}
          {tasks === null && !tasksError && <p className="muted">Loading tasks…</p>}
          {tasks !== null && (
            <p className="muted" aria-live="polite">
              {pending} pending, {done} done
            </p>
          )}
          {tasks !== null && tasks.length === 0 && <p className="muted">No tasks yet.</p>}
          {tasks !== null && tasks.length > 0 && (
            <ul className="task-list" aria-label="Task list">
              {tasks.map((t) => (
                <li key={t.id} className={t.completed ? "task done" : "task"} data-completed={t.completed}>
                  <input
                    type="checkbox"
                    id={`task-${t.id}`}
                    checked={t.completed}
                    onChange={() => void toggle(t)}
                  />
                  <label htmlFor={`task-${t.id}`}>
                    <span className="task-title">{t.title}</span>
                    {t.description && <span className="task-desc">{t.description}</span>}
                  </label>
                  <span className="task-id" title="Task number to use in chat">
                    #{t.id}
                  </span>
                  {t.completed && <span className="badge">done</span>}
                </li>
              ))}
            </ul>
          )}
        </section>
      </main>
    </>
  );
}
