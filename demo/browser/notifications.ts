/// <reference lib="dom" />
// The per-user notifications' page (public/notifications.html): a bearer token from a fake
// log-in, the user's stream read with nestjs-sse-hub/client (EventSource cannot send the
// header), and "log out everywhere". Text only ever goes through textContent, never innerHTML.
import { createSseClient, type SseClientStream } from 'nestjs-sse-hub/client';
import { type NotificationEvents, type UserNotification } from '../notifications.events';
import { setPill, trackStatus } from './status-pill';

/** Who this tab is logged in as: kept per tab, so that two tabs can be two users. */
interface Login {
  user: string;
  token: string;
}

const LOGIN = 'sse-demo-login';
const $ = (id: string) => document.getElementById(id)!;
const error = $('error');
const list = $('notifications');
let login: Login | undefined;
let inbox: { stream: SseClientStream<NotificationEvents>; untrack: () => void } | undefined;

function storedLogin(): Login | undefined {
  try {
    return JSON.parse(sessionStorage.getItem(LOGIN)!) ?? undefined;
  } catch {
    return undefined;
  }
}

/** A request of the logged-in user: the same bearer token as the stream's. */
async function post<T>(path: string, body?: unknown): Promise<T> {
  const response = await fetch(path, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(login && { authorization: `Bearer ${login.token}` }),
    },
    body: JSON.stringify(body ?? {}),
  });
  const answer = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error([].concat(answer.message || `HTTP ${response.status}`).join(' '));
  return answer as T;
}

function addNotification({ from, text, at }: UserNotification): void {
  const item = document.createElement('li');
  item.className = 'notification';
  const who = document.createElement('span');
  who.className = 'from';
  who.textContent = `from ${from}`;
  const when = document.createElement('time');
  when.dateTime = at;
  when.textContent = new Date(at).toLocaleTimeString();
  const body = document.createElement('p');
  body.className = 'text';
  body.textContent = text;
  item.append(who, when, body);
  list.prepend(item);
}

function showLoggedOut(reason = ''): void {
  inbox?.untrack();
  inbox?.stream.close();
  inbox = undefined;
  login = undefined;
  sessionStorage.removeItem(LOGIN);
  $('inbox-panel').hidden = true;
  $('login-panel').hidden = false;
  setPill($('status'), 'closed');
  $('status').textContent = 'logged out';
  error.textContent = reason;
}

function openInbox(as: Login): void {
  login = as;
  sessionStorage.setItem(LOGIN, JSON.stringify(as));
  $('me').textContent = as.user;
  $('devices').textContent = '';
  list.replaceChildren();
  $('login-panel').hidden = true;
  $('inbox-panel').hidden = false;
  error.textContent = '';
  const stream = createSseClient<NotificationEvents>('/notifications/events', {
    // Called for each attempt: a reconnect sends the token the tab has then.
    headers: () => ({ authorization: `Bearer ${as.token}` }),
  });
  inbox = { stream, untrack: trackStatus(stream, $('status')) };
  stream.on('welcome', ({ devices }) => {
    $('devices').textContent = `${devices} tab${devices === 1 ? '' : 's'} open as ${as.user}`;
  });
  stream.on('notification', addNotification);
  stream.onError((err) => {
    // 401: the token was revoked (logged out everywhere) or the server forgot it (restarted).
    if (err.status === 401) showLoggedOut('Logged out: the server answered 401 to the inbox.');
    else if (!err.willRetry) error.textContent = `The inbox stopped: ${err.message}`;
  });
}

$('login-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  error.textContent = '';
  try {
    openInbox(await post<Login>('/notifications/login', { name: ($('name') as HTMLInputElement).value }));
  } catch (err) {
    error.textContent = `Not logged in: ${(err as Error).message}`;
  }
});

$('send-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  error.textContent = '';
  const to = $('to') as HTMLInputElement;
  const text = $('text') as HTMLInputElement;
  try {
    await post('/notifications/send', { to: to.value, text: text.value });
    text.value = '';
  } catch (err) {
    error.textContent = `Not sent: ${(err as Error).message}`;
  }
});

// Every tab of this user gets a 401 on its reconnect, this one too: each shows it is logged out.
$('logout').addEventListener('click', async () => {
  error.textContent = '';
  try {
    await post('/notifications/logout-everywhere');
  } catch (err) {
    error.textContent = `Not logged out: ${(err as Error).message}`;
  }
});

const stored = storedLogin();
if (stored) openInbox(stored);
else showLoggedOut();
