import {
  type CanActivate,
  Controller,
  type ExecutionContext,
  Injectable,
  UnauthorizedException,
  UseGuards,
} from '@nestjs/common';
import { SseRoute } from 'nestjs-sse-hub';
import type { ChatEvents } from '../chat.events';

interface AuthedRequest {
  headers: { authorization?: string };
  user: { id: string };
}

// Stands for the app's own guard (Passport's JWT strategy, say): it reads the bearer token
// that EventSource cannot send, and nestjs-sse-hub/client can.
@Injectable()
export class BearerGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const req = context.switchToHttp().getRequest<AuthedRequest>();
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    if (!token) throw new UnauthorizedException('Send Authorization: Bearer <token>.');
    req.user = { id: token }; // a real guard verifies the token and finds its user
    return true;
  }
}

@Controller('me')
@UseGuards(BearerGuard)
export class MyEventsController {
  // GET /me/events: the lobby's messages and this user's own (hub.broadcast(…, { users })).
  @SseRoute<ChatEvents>('events', {
    channels: ['room:lobby'],
    user: (req) => (req as AuthedRequest).user.id,
  })
  events() {}
}
