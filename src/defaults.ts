import { totalmem } from 'node:os';
import { getHeapStatistics } from 'node:v8';

// Every default of the library's options, in one place (the transports keep theirs).

/** Milliseconds of silence before a `: keepalive` comment. */
export const DEFAULT_KEEP_ALIVE = 15_000;
/** The event that tells a client it missed events that cannot be replayed. */
export const DEFAULT_RESYNC_EVENT = 'resync';
/** The range of the jittered `retry` sent on shutdown, in ms. */
export const DEFAULT_SHUTDOWN_RETRY = { min: 1000, max: 5000 };
/** Bytes a client may leave unread: past it, it is a slow consumer. */
export const DEFAULT_MAX_PENDING_BYTES = 1024 * 1024;
/** What happens to a slow consumer. */
export const DEFAULT_SLOW_CONSUMER = 'close';
/**
 * What `client.request` keeps once its stream has started: what routes, hooks and the
 * docs read of a request (Express's and Fastify's names; a missing one is skipped). Not
 * `ip`: reading it makes Node keep the peer's address on every socket.
 */
export const DEFAULT_KEEP_REQUEST: readonly string[] = Object.freeze([
  'method',
  'url',
  'originalUrl',
  'headers',
  'params',
  'query',
  'user',
]);
/** How many broadcasts the in-process history keeps. */
export const DEFAULT_HISTORY_SIZE = 1000;
/** How many replays read their history at once. */
export const DEFAULT_CONCURRENT_REPLAYS = 4;

/**
 * The default of `maxTotalPendingBytes`: a quarter of the memory this process may use (the
 * machine's, or its cgroup's limit when lower), and at most half of V8's heap limit, since
 * unsent strings live on the heap.
 */
export function defaultMaxTotalPendingBytes(): number {
  // 0 or undefined when there is no limit.
  const cgroup = process.constrainedMemory?.() || Infinity;
  const memory = Math.min(totalmem(), cgroup);
  return Math.floor(Math.min(memory / 4, getHeapStatistics().heap_size_limit / 2));
}

/** How long a finished resumable run stays readable, in ms. */
export const DEFAULT_RUN_TTL = 10 * 60_000;
/** The most events a resumable run keeps (tokens are small: a long answer fits). */
export const DEFAULT_RUN_MAX_EVENTS = 10_000;
/** The most bytes of events a resumable run keeps. */
export const DEFAULT_RUN_MAX_BYTES = 1024 * 1024;
/** The longest a resumable run may produce, in ms. */
export const DEFAULT_RUN_MAX_DURATION = 60 * 60_000;
