/** How long a `closeUser` is remembered for streams still being set up: far longer than any setup. */
const REMEMBERED_MS = 5 * 60_000;

/**
 * When `closeUser` last ended each user's streams on this instance, so that a stream of
 * the user whose setup had begun by then (its async `user` lookup, its run's key, its
 * handler still running: not yet in the registry) is ended too when it registers,
 * rather than opening after the logout or ban that should have ended it.
 */
export class UserClosures {
  /** By user, oldest first: `performance.now()` of the last close. */
  private readonly at = new Map<string, number>();

  closed(user: string): void {
    this.at.delete(user);
    this.at.set(user, performance.now());
    const forgotten = performance.now() - REMEMBERED_MS;
    for (const [old, at] of this.at) {
      if (at >= forgotten) break;
      this.at.delete(old);
    }
  }

  /** Whether `user`'s streams were closed since `startedAt` (`performance.now()` when the stream's request came in). */
  closedSince(user: string | undefined, startedAt: number): boolean {
    const at = user === undefined ? undefined : this.at.get(user);
    return at !== undefined && at >= startedAt;
  }
}
