import { type SseTransportState, SseTransportUnavailableError } from '../hub';
import { type ThrottledLogger } from '../hub/throttled-logger';
import { type ServerAddress } from './server-address';

/** What a connection does for the transport: read the hub's messages, or publish them. */
export type ConnectionRole = 'reads' | 'publishes';

const WHILE_DOWN: Record<ConnectionRole, { log: string; state: string }> = {
  reads: { log: 'No hub message reaches this instance', state: 'no hub message reaches this instance' },
  publishes: { log: 'Broadcasts are refused', state: 'broadcasts are refused' },
};

/**
 * The connections of a transport to its server, as logs, `state()` and errors tell of
 * them: a connection lost is said once and its return once (not at every retry), what it
 * last failed with is kept for `state()`, and every error names the server without its
 * password. `Name` is each connection's name (`reader`, `pool`...), mapped to its role.
 */
export class ConnectionWatch<Name extends string> {
  /** Why each connection last failed, while it is down. */
  private readonly failures = new Map<Name, string>();
  private closed = false;

  /** `product`: the server as people call it (`Redis`, `PostgreSQL`). */
  constructor(
    private readonly logger: ThrottledLogger,
    readonly product: string,
    readonly server: ServerAddress,
    private readonly roles: Readonly<Record<Name, ConnectionRole>>,
  ) {}

  /** `scheme://user@host:port/database`: where the server is, with no password. */
  get where(): string {
    return this.server.text;
  }

  get closing(): boolean {
    return this.closed;
  }

  /** From now on, a connection lost is the transport closing, not news. */
  close(): void {
    this.closed = true;
  }

  /** Why `name` last failed, while it is down. */
  failure(name: Name): string | undefined {
    return this.failures.get(name);
  }

  isDown(name: Name): boolean {
    return this.failures.has(name);
  }

  /** `name` failed: logged the first time, until it is back. */
  failed(name: Name, error: unknown): void {
    const message = this.server.scrub(error instanceof Error ? error.message || error.name : String(error));
    const wasDown = this.failures.has(name);
    this.failures.set(name, message);
    if (wasDown || this.closed) return;
    this.logger.error(
      `${name}-down`,
      `${this.product} ${name} connection to ${this.where} failed (${message}); retrying. ` +
        `${WHILE_DOWN[this.roles[name]].log} until it is back: check that ${this.product} runs and is reachable.`,
    );
  }

  /** `name` works (again): logged if it was down. */
  recovered(name: Name): void {
    if (!this.failures.delete(name) || this.closed) return;
    this.logger.log(`${name}-up`, `${this.product} ${name} connection to ${this.where} is back.`);
  }

  /** For `state()`: `name` is not ready, why, and what follows. */
  notReady(name: Name): string {
    return (
      `the ${name} connection is not ready (${this.failures.get(name) ?? 'connecting'}), ` +
      `so ${WHILE_DOWN[this.roles[name]].state}`
    );
  }

  /** Up when nothing is `down` (each a phrase: what is not working, and what follows), and not closed. */
  state(down: ReadonlyArray<string | false | undefined>): SseTransportState {
    if (this.closed)
      return { up: false, reason: 'the transport is closed: the application is shutting down' };
    const reasons = down.filter((reason): reason is string => typeof reason === 'string');
    return reasons.length === 0
      ? { up: true }
      : { up: false, reason: `${this.product} at ${this.where}: ${reasons.join('; ')}.` };
  }

  /** What a publish, a replay or a presence read rejects with while the server cannot be reached. */
  unavailable(cause: unknown): SseTransportUnavailableError {
    return new SseTransportUnavailableError(this.where, this.server.scrubError(cause), this.product);
  }
}
