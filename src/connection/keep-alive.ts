/**
 * Calls `onSilence` after every `interval` ms without activity. One timer, re-armed
 * lazily: `touch()` only records the time, so the write path never touches a timer.
 * Not unref'd: a server holds the process open anyway, and a leaked timer should show.
 */
export class KeepAlive {
  private timer: NodeJS.Timeout | undefined;
  private lastActivity = 0;

  constructor(
    private readonly interval: number,
    private readonly onSilence: () => void,
  ) {}

  start(): void {
    this.touch();
    this.schedule(this.interval);
  }

  touch(): void {
    this.lastActivity = Date.now();
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(delay: number): void {
    this.timer = setTimeout(() => this.fire(), delay);
  }

  private fire(): void {
    const silent = Date.now() - this.lastActivity;
    if (silent < this.interval) return this.schedule(this.interval - silent);
    this.onSilence();
    this.touch();
    if (this.timer) this.schedule(this.interval);
  }
}
