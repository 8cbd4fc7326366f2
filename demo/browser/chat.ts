/// <reference lib="dom" />
// The chat room's page (public/index.html): the room and the ticker read with
// nestjs-sse-hub/client, typed from the same maps as the server's routes. Bundled with
// esbuild when the demo starts (BrowserScriptsController). User text only ever goes
// through textContent / value, never innerHTML.
import { createSseClient, type SseClientStream } from 'nestjs-sse-hub/client';
import { type ChatMessage, type RoomEvents, type TickerEvents } from '../chat.events';
import { trackStatus } from './status-pill';

const $ = (id: string) => document.getElementById(id)!;
const messages = $('messages');
const form = $('message-form') as HTMLFormElement;
const author = $('author') as HTMLInputElement;
const text = $('text') as HTMLInputElement;
const error = $('error');
let room: { stream: SseClientStream<RoomEvents>; untrack: () => void } | undefined;

function timeOf(iso: string): string {
  const date = new Date(iso);
  return isNaN(date.getTime()) ? '' : date.toLocaleTimeString();
}

function addMessage({ author, text, at }: ChatMessage): void {
  const item = document.createElement('li');
  item.className = 'message';
  const who = document.createElement('span');
  who.className = 'author';
  who.textContent = author;
  const when = document.createElement('time');
  when.dateTime = at;
  when.textContent = timeOf(at);
  const body = document.createElement('p');
  body.className = 'text';
  body.textContent = text;
  item.append(who, when, body);
  const atBottom = messages.scrollHeight - messages.scrollTop - messages.clientHeight < 40;
  messages.append(item);
  if (atBottom) messages.scrollTop = messages.scrollHeight;
}

function joinRoom(name: string): void {
  if (room) {
    room.untrack();
    room.stream.close();
  }
  messages.replaceChildren();
  $('count').textContent = '0';
  $('client-id').textContent = '…';
  $('room-name').textContent = name;
  ($('room') as HTMLInputElement).value = name;
  const url = new URL(location.href);
  url.searchParams.set('room', name);
  history.replaceState(null, '', url);

  // Reconnects by itself after a drop, with the Last-Event-ID of the last message it got:
  // the server replays what was missed, once.
  const stream = createSseClient<RoomEvents>(`/rooms/${encodeURIComponent(name)}/events`);
  room = { stream, untrack: trackStatus(stream, $('status')) };
  // Each connection is a new client: its id comes first.
  stream.on('welcome', ({ id }) => ($('client-id').textContent = id));
  // A stream joined or left the room (this one too): ask who is there, on every instance.
  let asked = 0;
  const recount = async () => {
    const mine = ++asked;
    const presence = await (await fetch(`/rooms/${encodeURIComponent(name)}/presence`)).json();
    if (mine === asked) $('count').textContent = String(presence.count);
  };
  stream.on('join', () => void recount());
  stream.on('leave', () => void recount());
  stream.on('message', addMessage);
}

function currentRoom(): string {
  return $('room-name').textContent ?? '';
}

$('room-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const name = ($('room') as HTMLInputElement).value.trim();
  if (name && name !== currentRoom()) joinRoom(name);
});

form.addEventListener('submit', async (e) => {
  e.preventDefault();
  error.textContent = '';
  localStorage.setItem('sse-demo-author', author.value);
  const send = $('send') as HTMLButtonElement;
  send.disabled = true;
  try {
    const response = await fetch(`/rooms/${encodeURIComponent(currentRoom())}/messages`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ author: author.value, text: text.value }),
    });
    if (!response.ok) {
      const body = await response.json().catch(() => ({}));
      throw new Error([].concat(body.message || `HTTP ${response.status}`).join(' '));
    }
    text.value = '';
  } catch (err) {
    error.textContent = `Not sent: ${(err as Error).message}`;
  } finally {
    send.disabled = false;
    text.focus();
  }
});

author.value = localStorage.getItem('sse-demo-author') || `guest-${Math.floor(Math.random() * 900 + 100)}`;
joinRoom(new URLSearchParams(location.search).get('room')?.trim() || 'lobby');

const ticker = createSseClient<TickerEvents>('/ticker');
trackStatus(ticker, $('ticker-status'));
ticker.on('tick', ({ n, time }) => {
  $('tick-n').textContent = String(n);
  $('tick-time').textContent = time;
});
