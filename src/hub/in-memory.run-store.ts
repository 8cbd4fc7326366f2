import { type SseRunState } from './sse-run-status.interface';
import {
  type SseRunClaim,
  type SseRunLimits,
  type SseRunPage,
  type SseRunRecord,
  type SseRunStore,
} from './sse-run-store.interface';

interface KeptRun {
  run: string;
  status: SseRunState;
  /** The number of `events[head]`. */
  first: number;
  last: number;
  /** Kept events from `head` on: the trimmed ones before it are let go in steps, not one `shift()` each. */
  events: string[];
  head: number;
  bytes: number;
  readonly limits: SseRunLimits;
  /** Deletes the run once its `ttl` after the end has passed. */
  expiry?: NodeJS.Timeout;
}

/**
 * The runs of this process, for a transport that keeps none (the in-process one): a run
 * lives as long as its process, so it needs no lease. A finished run is let go `ttl`
 * after its end, so memory follows the runs of the last `ttl`, not all that were served.
 *
 * @publicApi
 */
export class InMemoryRunStore implements SseRunStore {
  private readonly runs = new Map<string, KeptRun>();

  claim(key: string, run: string, limits: SseRunLimits): Promise<SseRunClaim> {
    const kept = this.runs.get(key);
    if (kept) return Promise.resolve({ created: false, record: recordOf(kept) });
    const created: KeptRun = {
      run,
      status: 'running',
      first: 1,
      last: 0,
      events: [],
      head: 0,
      bytes: 0,
      limits,
    };
    this.runs.set(key, created);
    return Promise.resolve({ created: true, record: recordOf(created) });
  }

  get(key: string): Promise<SseRunRecord | undefined> {
    const kept = this.runs.get(key);
    return Promise.resolve(kept && recordOf(kept));
  }

  append(key: string, run: string, from: number, events: readonly string[]): Promise<boolean> {
    const kept = this.runs.get(key);
    if (kept?.run !== run || kept.status !== 'running') return Promise.resolve(false);
    if (from > kept.last + 1) {
      // What lay between never arrived: a reader asking for it gets a resync, not a hole.
      kept.events = [];
      kept.head = 0;
      kept.bytes = 0;
      kept.first = from;
      kept.last = from - 1;
    }
    for (let i = kept.last + 1 - from; i < events.length; i++) {
      kept.events.push(events[i]);
      kept.bytes += Buffer.byteLength(events[i]);
      kept.last++;
    }
    trim(kept);
    return Promise.resolve(true);
  }

  read(key: string, after: number, count: number): Promise<SseRunPage | undefined> {
    const kept = this.runs.get(key);
    if (!kept) return Promise.resolve(undefined);
    const from = Math.max(after + 1, kept.first);
    const start = kept.head + (from - kept.first);
    const events = kept.events.slice(start, start + Math.max(0, count));
    return Promise.resolve({ record: recordOf(kept), from, events });
  }

  finish(
    key: string,
    run: string | undefined,
    status: Exclude<SseRunState, 'running'>,
  ): Promise<SseRunRecord | undefined> {
    const kept = this.runs.get(key);
    if (!kept || kept.status !== 'running' || (run !== undefined && kept.run !== run))
      return Promise.resolve(undefined);
    kept.status = status;
    kept.expiry = setTimeout(() => this.runs.get(key) === kept && this.runs.delete(key), kept.limits.ttl);
    // A finished run must not keep the process alive for its ttl.
    kept.expiry.unref();
    return Promise.resolve(recordOf(kept));
  }

  renew(): Promise<void> {
    return Promise.resolve();
  }

  release(key: string, run: string): Promise<void> {
    const kept = this.runs.get(key);
    if (kept?.run === run && kept.last === 0) {
      clearTimeout(kept.expiry);
      this.runs.delete(key);
    }
    return Promise.resolve();
  }
}

function recordOf(kept: KeptRun): SseRunRecord {
  return { run: kept.run, status: kept.status, first: kept.first, last: kept.last };
}

/** Drops the oldest events beyond the run's limits, always keeping the newest. */
function trim(kept: KeptRun): void {
  const { maxEvents, maxBytes } = kept.limits;
  while (
    kept.last - kept.first + 1 > 1 &&
    (kept.last - kept.first + 1 > maxEvents || kept.bytes > maxBytes)
  ) {
    kept.bytes -= Buffer.byteLength(kept.events[kept.head]);
    kept.events[kept.head++] = '';
    kept.first++;
  }
  // Let the trimmed go once they are half of the array.
  if (kept.head > 1024 && kept.head * 2 > kept.events.length) {
    kept.events = kept.events.slice(kept.head);
    kept.head = 0;
  }
}
