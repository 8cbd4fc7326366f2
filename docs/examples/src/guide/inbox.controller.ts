import {
  type CanActivate,
  Controller,
  type ExecutionContext,
  Get,
  HttpCode,
  Injectable,
  Post,
  Req,
  UnauthorizedException,
  UseGuards,
} from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { SseClient, SseEventOf, SseGateway, SseHub, SseRoute } from 'nestjs-sse-hub';
import type { InboxEvents } from './inbox.events';
import { InboxService } from './inbox.service';

/** What the guard puts on the request: the signed-in user. */
interface SignedInRequest {
  headers: { authorization?: string };
  user: { id: string };
}

// Stands for the app's sign-in (a JWT, a session table): a bearer token names a user until revoked.
@Injectable()
export class Sessions {
  private readonly users = new Map<string, string>();

  signIn(userId: string): string {
    const token = randomUUID();
    this.users.set(token, userId);
    return token;
  }

  userOf(token: string): string | undefined {
    return this.users.get(token);
  }

  revoke(userId: string): void {
    for (const [token, user] of this.users) if (user === userId) this.users.delete(token);
  }
}

// Stands for the app's own guard (passport-jwt…): a 401 without a valid bearer token.
@Injectable()
export class BearerGuard implements CanActivate {
  constructor(private readonly sessions: Sessions) {}

  canActivate(context: ExecutionContext): boolean {
    const req = context.switchToHttp().getRequest<SignedInRequest>();
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    const id = token === undefined ? undefined : this.sessions.userOf(token);
    if (id === undefined) throw new UnauthorizedException('Sign in again');
    req.user = { id };
    return true;
  }
}

@Controller('notifications')
@UseGuards(BearerGuard)
export class InboxController implements SseGateway<InboxEvents> {
  constructor(
    private readonly hub: SseHub<InboxEvents>,
    private readonly inbox: InboxService,
    private readonly sessions: Sessions,
  ) {}

  // GET /notifications/events: the signed-in user's stream, one per device. Whose it is
  // comes from the guard's user; their notifications reach it through the hub.
  @SseRoute('events', {
    user: (req: SignedInRequest) => req.user.id,
    maxConnectionsPer: { key: 'user', limit: 10 }, // ten devices (on each instance); past it, 429
  })
  events() {}

  // First on a new stream, and after a gap (`resync`): the inbox as stored. Read once the
  // stream is in the hub, so a notification published meanwhile is in it or comes after it.
  // A reconnect whose replay is complete needs none: it gets what it missed.
  onJoin(client: SseClient): SseEventOf<InboxEvents> | undefined {
    if (client.replay === 'complete') return undefined;
    return { event: 'inbox', data: this.inbox.inboxOf(client.user!) };
  }

  // GET /notifications/devices: how many streams the user has open, on every instance.
  @Get('devices')
  async devices(@Req() req: SignedInRequest) {
    const { count } = await this.hub.presence({ user: req.user.id });
    return { count };
  }

  // POST /notifications/logout: the tokens first, then every stream of the user, on every
  // instance. Their clients reconnect, and meet the guard: a 401 stops them.
  @Post('logout')
  @HttpCode(204)
  async logout(@Req() req: SignedInRequest) {
    this.sessions.revoke(req.user.id);
    await this.hub.closeUser(req.user.id);
  }
}
