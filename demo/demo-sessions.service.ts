import { Injectable } from '@nestjs/common';
import { randomBytes } from 'node:crypto';

/**
 * The demo's fake log-in: any name gets a bearer token, kept in memory. It stands for
 * the app's own (passport, JWTs): all the notifications need is a user on the request.
 */
@Injectable()
export class DemoSessions {
  private readonly users = new Map<string, string>();

  /** A new token for `user` (one per device that logs in). */
  logIn(user: string): string {
    const token = randomBytes(18).toString('base64url');
    this.users.set(token, user);
    return token;
  }

  /** The user a token was given to, while it is valid. */
  userOf(token: string): string | undefined {
    return this.users.get(token);
  }

  /** Revokes every token of `user`: each device's next request is refused. */
  logOutEverywhere(user: string): void {
    for (const [token, owner] of this.users) if (owner === user) this.users.delete(token);
  }
}
