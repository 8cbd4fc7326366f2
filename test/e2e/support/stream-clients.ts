import { type ChildProcess, fork } from 'node:child_process';
import { resolve } from 'node:path';

/** Drives `stream-clients.child.js`, a process of SSE clients, one command at a time. */
export class StreamClients {
  // From the repository root (where npm runs the tests): there is no __dirname under ES modules.
  private readonly child: ChildProcess = fork(resolve('test/e2e/support/stream-clients.child.js'), {
    stdio: 'inherit',
  });

  private command<T>(message: Record<string, unknown>): Promise<T> {
    return new Promise((resolve, reject) => {
      this.child.once('message', (answer: T & { error?: string }) =>
        answer.error ? reject(new Error(answer.error)) : resolve(answer),
      );
      this.child.send(message);
    });
  }

  open(url: string, count: number): Promise<{ opened: number }> {
    return this.command({ cmd: 'open', url, count });
  }

  drop(): Promise<{ dropped: number }> {
    return this.command({ cmd: 'drop' });
  }

  collect(): Promise<{ ended: number; retries: number[] }> {
    return this.command({ cmd: 'collect' });
  }

  stop(): void {
    this.child.disconnect();
  }
}
