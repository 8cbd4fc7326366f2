/**
 * Lets a producer's tokens out as a test says: the producer (a fake model, a run's
 * handler) waits here before each one, until the test lets it out or its signal aborts.
 */
export class TokenGate {
  private allowed = 0;
  private taken = 0;
  private readonly waiting = new Set<() => void>();

  /** Lets out the tokens up to the n-th of the run. */
  open(n: number): void {
    this.allowed = n;
    for (const wake of [...this.waiting]) wake();
  }

  /** The model's wait before a token: until the test lets it out, or the run's signal aborts. */
  async pass(signal: AbortSignal): Promise<void> {
    const n = ++this.taken;
    while (n > this.allowed && !signal.aborted) {
      await new Promise<void>((done) => {
        const wake = () => {
          this.waiting.delete(wake);
          signal.removeEventListener('abort', wake);
          done();
        };
        this.waiting.add(wake);
        signal.addEventListener('abort', wake);
      });
    }
  }
}
