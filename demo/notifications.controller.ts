import { BadRequestException, Body, Controller, HttpCode, Post, Req, UseGuards } from '@nestjs/common';
import { SseClient, type SseEventOf, type SseGateway, SseHub, SseRoute } from 'nestjs-sse-hub';
import { BearerGuard, type SignedInRequest } from './bearer.guard';
import { DemoSessions } from './demo-sessions.service';
import { type NotificationEvents, type UserNotification } from './notifications.events';

const MAX_NAME = 40;
const MAX_TEXT = 500;

function requiredString(body: unknown, field: string, max: number): string {
  const value = (body as Record<string, unknown> | undefined)?.[field];
  if (typeof value !== 'string' || value.trim() === '' || value.trim().length > max)
    throw new BadRequestException(`"${field}" must be a string of 1 to ${max} characters.`);
  return value.trim();
}

/**
 * Per-user notifications: a user's stream on each of their devices, a notification to
 * one user (every device of theirs, kept for their reconnects), and "log out everywhere".
 */
@Controller('notifications')
export class NotificationsController implements SseGateway<NotificationEvents> {
  constructor(
    private readonly hub: SseHub<NotificationEvents>,
    private readonly sessions: DemoSessions,
  ) {}

  // The fake log-in: a name in, a bearer token out.
  @Post('login')
  @HttpCode(200)
  logIn(@Body() body: unknown): { user: string; token: string } {
    const user = requiredString(body, 'name', MAX_NAME);
    return { user, token: this.sessions.logIn(user) };
  }

  // The user's stream: `user` names whose it is, after the guard has put the user on the request.
  @SseRoute<NotificationEvents>('events', { user: (req: SignedInRequest) => req.user.id })
  @UseGuards(BearerGuard)
  events(): void {}

  async onJoin(client: SseClient): Promise<SseEventOf<NotificationEvents>> {
    const user = client.user!;
    // Its own stream may not be listed yet (it is once set up): the others, and this one.
    const { clients } = await this.hub.presence({ user });
    const devices = clients.filter((other) => other.id !== client.id).length + 1;
    return { event: 'welcome', data: { user, devices } };
  }

  // To one user: only their streams get it, on every instance, and their reconnects replay it.
  @Post('send')
  @HttpCode(200)
  @UseGuards(BearerGuard)
  async send(@Req() req: SignedInRequest, @Body() body: unknown): Promise<UserNotification> {
    const to = requiredString(body, 'to', MAX_NAME);
    const notification = {
      from: req.user.id,
      text: requiredString(body, 'text', MAX_TEXT),
      at: new Date().toISOString(),
    };
    await this.hub.broadcast({ event: 'notification', data: notification }, { users: to });
    return notification;
  }

  // Every token of the user goes, then every stream of theirs: each device's reconnect gets a 401.
  @Post('logout-everywhere')
  @HttpCode(200)
  @UseGuards(BearerGuard)
  async logOutEverywhere(@Req() req: SignedInRequest): Promise<{ user: string }> {
    this.sessions.logOutEverywhere(req.user.id);
    await this.hub.closeUser(req.user.id);
    return { user: req.user.id };
  }
}
