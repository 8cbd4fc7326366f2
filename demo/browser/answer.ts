/// <reference lib="dom" />
// The resumable answer's page (public/answer.html), with nestjs-sse-hub/client: the tab
// that asks reads the run on its POST, the others (and this one after a reload) on the
// GET; a dropped stream resumes after its Last-Event-ID by itself, and a 204 says the
// run is all read. Model text only ever goes through textContent, never innerHTML.
import { createSseClient, type SseClientStream } from 'nestjs-sse-hub/client';
import { type AnswerEvents } from '../answer.events';
import { watchStatus } from './status-pill';

/** A run as this tab shows it, and as the tabs keep it in localStorage. */
interface StoredRun {
  id: string;
  prompt: string;
  text: string;
  tokens: number;
  lastEventId: string;
}

const STORE = 'sse-demo-answer';
const RUNNING = ['connecting', 'running', 'reconnecting'];
const $ = (id: string) => document.getElementById(id)!;
const pill = $('run-status');
const answer = $('answer');
const error = $('error');
const askButton = $('ask') as HTMLButtonElement;
const stopButton = $('stop') as HTMLButtonElement;
/** The run this tab shows. */
let current: StoredRun | undefined;
let stream: SseClientStream<AnswerEvents> | undefined;
let unwatch: (() => void) | undefined;
let statusAsked = 0;

function setState(state: string, { closed = false } = {}): void {
  pill.dataset.state = state;
  document.body.dataset.state = state;
  pill.dataset.closed = String(closed);
  pill.textContent = state;
  askButton.disabled = RUNNING.includes(state);
  stopButton.disabled = !current || !RUNNING.includes(state);
}

function stored(): StoredRun | null {
  try {
    return JSON.parse(localStorage.getItem(STORE)!);
  } catch {
    return null;
  }
}

// Each tab of the run writes what it has: the text and its last id always go together.
function save(run: StoredRun): void {
  const kept = stored();
  // Another tab asked something else since: its run is the one to keep.
  if (kept && kept.id !== run.id) return;
  localStorage.setItem(STORE, JSON.stringify(run));
}

function render(run: StoredRun): void {
  answer.textContent = run.text;
  $('meta').textContent = `run ${run.id} · ${run.tokens} tokens · last event id ${run.lastEventId || '–'}`;
}

function newId(): string {
  // Not crypto.randomUUID(): it only exists on https and localhost.
  return Array.from(crypto.getRandomValues(new Uint8Array(8)), (b) => b.toString(16).padStart(2, '0')).join(
    '',
  );
}

// What the server says of the run: the truth once the client has stopped, or while it reconnects.
async function showStatus(run: StoredRun, closed: boolean): Promise<void> {
  const mine = ++statusAsked;
  let state: string;
  try {
    const response = await fetch(`/chat/${encodeURIComponent(run.id)}/status`);
    state = response.status === 404 ? 'gone' : response.ok ? (await response.json()).status : 'unknown';
  } catch {
    state = 'unknown';
  }
  if (mine !== statusAsked || run !== current) return;
  if (state === 'running' || state === 'unknown') state = closed ? 'closed' : 'reconnecting';
  setState(state, { closed });
}

/**
 * Shows a run, from what is stored, and reads the rest of it after the last event id this
 * tab has: with the POST that asks (`ask`), or with a GET that only resumes.
 */
function follow(stored: StoredRun, ask?: { prompt: string }): void {
  unwatch?.();
  stream?.close();
  const run: StoredRun = { ...stored };
  current = run;
  $('question').textContent = run.prompt;
  answer.dataset.restored = String(run.tokens);
  answer.dataset.received = '0';
  error.textContent = '';
  render(run);
  const s = (stream = createSseClient<AnswerEvents>(`/chat/${encodeURIComponent(run.id)}/answer`, {
    // A POST starts the run, or joins it: the client sends it again, body and all, to resume.
    ...(ask && {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(ask),
    }),
    // After a reload: where this tab was (sent as Last-Event-ID); its reconnects send their own.
    lastEventId: run.lastEventId || undefined,
  }));
  setState('connecting');
  let opened = false;
  unwatch = watchStatus(s, (status, previous) => {
    if (status === 'open') {
      // Asked, and the run is claimed: stored now, so the other tabs follow it too.
      if (ask && !opened) localStorage.setItem(STORE, JSON.stringify(run));
      opened = true;
      setState('running');
    }
    // The stream ended: the client comes back after the last token. Did the run end?
    if (status === 'connecting' && previous === 'open') void showStatus(run, false);
  });
  // Tokens are strings, sent as they are: the raw data, never parsed (a token may look like JSON).
  s.on('token', (_data, { id, data }) => {
    run.text += data;
    run.tokens++;
    run.lastEventId = id ?? '';
    answer.dataset.received = String(Number(answer.dataset.received) + 1);
    render(run);
    save(run);
  });
  // Our id is not one of this run's (or was trimmed): the run comes again from what it kept.
  s.on('resync', ({ dropped }) => {
    run.text = dropped ? `[${dropped} earlier tokens no longer kept] ` : '';
    run.tokens = 0;
    render(run);
  });
  // The server's `event: error`: the run failed, the stream's end follows.
  s.on('error', ({ message }) => (error.textContent = `The run failed: ${message}`));
  s.onError((err) => {
    if (s !== stream || err.willRetry) return;
    if (ask && !opened) {
      // The POST was refused (a 400 for the prompt): nothing was asked.
      error.textContent = `Not asked: ${err.message}`;
      ($('prompt') as HTMLInputElement).value = ask.prompt;
      setState('idle');
      return;
    }
    // 204: there is nothing more to read, the run is over. Another 4xx: the server said no.
    if (err.status !== 204) error.textContent = `Stopped: ${err.message}`;
    void showStatus(run, true);
  });
}

$('ask-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const promptInput = $('prompt') as HTMLInputElement;
  const prompt = promptInput.value.trim();
  if (!prompt) return;
  promptInput.value = '';
  follow({ id: newId(), prompt, text: '', tokens: 0, lastEventId: '' }, { prompt });
});

stopButton.addEventListener('click', async () => {
  stopButton.disabled = true;
  try {
    const response = await fetch(`/chat/${encodeURIComponent(current!.id)}/stop`, { method: 'POST' });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const { stopped } = await response.json();
    // Every tab's stream ends, and the client's reconnect then finds the run aborted (204).
    if (!stopped) error.textContent = 'The run had already ended.';
  } catch (err) {
    error.textContent = `Not stopped: ${(err as Error).message}`;
    stopButton.disabled = false;
  }
});

// Another tab asked: follow its run here too.
window.addEventListener('storage', (e) => {
  if (e.key !== STORE) return;
  const run = stored();
  if (run && run.id !== current?.id) follow(run);
});

const run = stored();
if (run) follow(run);
else setState('idle');
