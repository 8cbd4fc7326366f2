/** Something with writes held back until the current synchronous work is done. */
export interface Flushable {
  flush(): void;
}

// One microtask for all clients, not one per client: a broadcast to 10,000 clients
// schedules once. Swapping two arrays keeps the flush loop free of allocations.
let dirty: Flushable[] = [];
let spare: Flushable[] = [];
let scheduled = false;

function flushAll(): void {
  scheduled = false;
  const now = dirty;
  dirty = spare;
  for (let i = 0; i < now.length; i++) now[i].flush();
  now.length = 0;
  spare = now;
  // Shared only within one flush: let the joined bytes go.
  lastBatch = lastJoined = undefined;
}

/**
 * Flushes `target` once the current synchronous work is done (a microtask): writes made
 * in one turn, like a burst of broadcasts, go out as one, and a single write still
 * leaves within the same tick.
 */
export function scheduleFlush(target: Flushable): void {
  dirty.push(target);
  if (!scheduled) {
    scheduled = true;
    queueMicrotask(flushAll);
  }
}

// The last batch joined in this flush, and its bytes: clients that got the same broadcasts
// in the same turn hold the same chunks, so they share one joined buffer.
let lastBatch: ReadonlyArray<string | Buffer> | undefined;
let lastJoined: Buffer | undefined;

function sameChunks(a: ReadonlyArray<string | Buffer>, b: ReadonlyArray<string | Buffer>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * The chunks of a batch as one buffer, so that a burst costs each client one write, not one
 * per event; the buffer is shared with every client whose batch holds the same chunks.
 */
export function joinBatch(batch: ReadonlyArray<string | Buffer>): Buffer {
  if (lastBatch && lastJoined && sameChunks(batch, lastBatch)) return lastJoined;
  lastJoined = Buffer.concat(batch.map((chunk) => (typeof chunk === 'string' ? Buffer.from(chunk) : chunk)));
  lastBatch = batch;
  return lastJoined;
}
