import { Logger } from '@nestjs/common';

/** How long repeats of one kind of line are held back after it is written. */
const DEFAULT_WINDOW_MS = 10_000;
/** Kinds followed at once; past it, the ones whose window is over are forgotten. */
const MAX_KINDS = 1000;

type Level = 'log' | 'warn' | 'error';

interface Held {
  /** Until when repeats are held back. */
  until: number;
  /** How many were, and the last of them. */
  repeats: number;
  last: string;
  level: Level;
  timer: NodeJS.Timeout | undefined;
}

/**
 * Nest's `Logger` under the library's context, with repeats held back: the first line of
 * a kind (a slow consumer of a route, a hook that threw this error) is written, the next
 * ones within the window are counted, and one line at the window's end says how many
 * there were and shows the last. A storm of 10,000 slow consumers writes two lines, not
 * 10,000; two different errors are two kinds, each written.
 */
export class ThrottledLogger {
  private readonly logger: Logger;
  private readonly held = new Map<string, Held>();

  constructor(
    context: string,
    private readonly windowMs = DEFAULT_WINDOW_MS,
  ) {
    this.logger = new Logger(context);
  }

  /**
   * `kind` groups the lines that count as repeats of each other: what happened and where,
   * without what differs per client (e.g. `slow-consumer:/rooms/:room/events:close`, or a
   * hook's name and its error's message).
   */
  error(kind: string, message: string, stack?: string): void {
    this.write('error', kind, message, stack);
  }

  warn(kind: string, message: string): void {
    this.write('warn', kind, message);
  }

  log(kind: string, message: string): void {
    this.write('log', kind, message);
  }

  private write(level: Level, kind: string, message: string, stack?: string): void {
    const now = Date.now();
    const held = this.held.get(kind);
    if (held && now < held.until) {
      held.repeats++;
      held.last = message;
      held.level = level;
      // Said once the window is over; a timer that does not keep the process alive.
      held.timer ??= setTimeout(() => this.summarize(kind), held.until - now).unref();
      return;
    }
    if (this.held.size >= MAX_KINDS) this.forgetPast(now);
    // Still full of live windows (kinds that differ per client): written, not followed.
    if (this.held.size < MAX_KINDS)
      this.held.set(kind, { until: now + this.windowMs, repeats: 0, last: message, level, timer: undefined });
    if (level === 'error') this.logger.error(message, stack);
    else this.logger[level](message);
  }

  private forgetPast(now: number): void {
    for (const [kind, held] of this.held) if (now >= held.until && !held.timer) this.held.delete(kind);
  }

  private summarize(kind: string): void {
    const held = this.held.get(kind);
    if (!held) return;
    this.held.delete(kind);
    const seconds = Math.round(this.windowMs / 1000);
    this.logger[held.level](
      `${held.repeats} more like this in ${seconds} s (not written one by one); the last: ${held.last}`,
    );
  }
}
