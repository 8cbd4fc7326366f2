import { type CanActivate, type ExecutionContext, Injectable, UnauthorizedException } from '@nestjs/common';
import { DemoSessions } from './demo-sessions.service';

/** What the guard puts on the request: the logged-in user, as a passport strategy would. */
export interface SignedInRequest {
  headers: Record<string, string | string[] | undefined>;
  user: { id: string };
}

/**
 * Lets in a request with `Authorization: Bearer <token>` of a logged-in user, and puts
 * the user on it; 401 otherwise. EventSource cannot send this header: the page's
 * stream is read with nestjs-sse-hub/client, which can.
 */
@Injectable()
export class BearerGuard implements CanActivate {
  constructor(private readonly sessions: DemoSessions) {}

  canActivate(context: ExecutionContext): boolean {
    const req = context.switchToHttp().getRequest<SignedInRequest>();
    const header = req.headers.authorization;
    const token = typeof header === 'string' ? /^Bearer (\S+)$/i.exec(header)?.[1] : undefined;
    const user = token === undefined ? undefined : this.sessions.userOf(token);
    if (user === undefined)
      throw new UnauthorizedException('Log in, and send Authorization: Bearer <token>.');
    req.user = { id: user };
    return true;
  }
}
