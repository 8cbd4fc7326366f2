/// <reference lib="dom" />
import { type SseClientStatus } from 'nestjs-sse-hub/client';

/** What a pill shows of a stream: live, connecting (the first time), reconnecting, or closed. */
export type PillState = 'connecting' | 'live' | 'reconnecting' | 'closed';

/** Shows `state` in the pill (its colour comes from `data-state`). */
export function setPill(pill: HTMLElement, state: string): void {
  pill.dataset.state = state;
  pill.textContent = state;
}

/**
 * Calls `listener` when a client's `status` changes, and once at the start. The client
 * has no status event, and its status changes between two events too (the server ends
 * the stream, a retry starts): it is read a few times a second. Stops once it is closed.
 */
export function watchStatus(
  stream: { readonly status: SseClientStatus },
  listener: (status: SseClientStatus, previous: SseClientStatus | undefined) => void,
): () => void {
  let previous: SseClientStatus | undefined;
  const check = () => {
    const { status } = stream;
    if (status === 'closed') clearInterval(timer);
    if (status === previous) return;
    const was = previous;
    previous = status;
    listener(status, was);
  };
  const timer = setInterval(check, 100);
  check();
  return () => clearInterval(timer);
}

/** Keeps a pill in step with a client's `status`. */
export function trackStatus(stream: { readonly status: SseClientStatus }, pill: HTMLElement): () => void {
  let wasOpen = false;
  return watchStatus(stream, (status) => {
    wasOpen ||= status === 'open';
    const state: PillState =
      status === 'open' ? 'live' : status === 'closed' ? 'closed' : wasOpen ? 'reconnecting' : 'connecting';
    setPill(pill, state);
  });
}
