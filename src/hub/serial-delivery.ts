/**
 * Runs deliveries one at a time, each to its end. A delivery can re-enter the hub
 * synchronously (an `onClose` that broadcasts when a write ends a slow consumer, an
 * `onMessage` that sends, an in-process transport that delivers inside `publish`): run
 * at once, the nested message would reach the clients after it before the ones still
 * waiting for the outer message, and their `Last-Event-ID` would go backwards. Queued
 * here, it goes out once the outer delivery is done, so every client sees hub messages
 * in the order they were published.
 */
export class SerialDelivery {
  private readonly queue: Array<() => void> = [];
  private running = false;

  constructor(private readonly onError: (error: unknown) => void) {}

  run(task: () => void): void {
    if (this.running) {
      this.queue.push(task);
      return;
    }
    this.running = true;
    try {
      this.attempt(task);
      // Tasks queued by tasks run too, in order; the queue is emptied by index, not shift().
      for (let i = 0; i < this.queue.length; i++) this.attempt(this.queue[i]);
    } finally {
      this.queue.length = 0;
      this.running = false;
    }
  }

  private attempt(task: () => void): void {
    try {
      task();
    } catch (error) {
      this.onError(error);
    }
  }
}
