/** What a keepalive ticker needs of a stream. */
export interface KeepAliveStream {
  /** The ticker's count when the stream last wrote, set by `KeepAliveTicker.touch()`. */
  keepAliveTick: number;
  /** Called after `interval` ms or more without a write. */
  onSilence(): void;
}

// A stream's silence is known to a quarter of the interval: a comment goes out after
// between 1 and 1.25 intervals of silence.
const TICKS_PER_INTERVAL = 4;

/**
 * Keepalives for every stream with the same interval from one timer. A write only
 * records the ticker's count in a number field; each tick sends `onSilence` to the
 * streams that have been silent a whole interval. A timer per stream (and its closure)
 * cost ~375 bytes each and a re-arm per silent stream; this costs a Set entry.
 * Not unref'd: a server holds the process open anyway, and a leaked timer should show.
 */
export class KeepAliveTicker {
  private static readonly byInterval = new Map<number, KeepAliveTicker>();

  /** The ticker of `interval` ms, shared by every stream of this process that uses it. */
  static every(interval: number): KeepAliveTicker {
    let ticker = KeepAliveTicker.byInterval.get(interval);
    if (!ticker) KeepAliveTicker.byInterval.set(interval, (ticker = new KeepAliveTicker(interval)));
    return ticker;
  }

  private readonly streams = new Set<KeepAliveStream>();
  private timer: NodeJS.Timeout | undefined;
  private tick = 0;

  private constructor(private readonly interval: number) {}

  /** Starts counting `stream`'s silence from now. */
  add(stream: KeepAliveStream): void {
    stream.keepAliveTick = this.tick;
    this.streams.add(stream);
    // Rounded up, so that the ticks a stream must miss add up to at least the interval.
    this.timer ??= setInterval(() => this.sweep(), Math.ceil(this.interval / TICKS_PER_INTERVAL));
  }

  /** The stream has just written. */
  touch(stream: KeepAliveStream): void {
    stream.keepAliveTick = this.tick;
  }

  delete(stream: KeepAliveStream): void {
    if (!this.streams.delete(stream) || this.streams.size > 0) return;
    // The ticker stays (a process uses a few intervals), its timer goes: no stream, no timer.
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private sweep(): void {
    const tick = ++this.tick;
    // Touched during tick t, a stream has been silent at least TICKS_PER_INTERVAL whole ticks at t + TICKS_PER_INTERVAL + 1.
    for (const stream of this.streams) {
      if (tick - stream.keepAliveTick <= TICKS_PER_INTERVAL) continue;
      stream.keepAliveTick = tick;
      stream.onSilence();
    }
  }
}
