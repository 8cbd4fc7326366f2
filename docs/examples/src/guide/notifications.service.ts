import { Injectable } from '@nestjs/common';
import { SseHub } from 'nestjs-sse-hub';

interface NotificationEvents {
  notice: { text: string };
  alert: { level: 'info' | 'warn'; text: string };
}

// The hub is a provider like any other: inject it in a service, a queue consumer, a cron job.
@Injectable()
export class NotificationsService {
  constructor(private readonly hub: SseHub<NotificationEvents>) {}

  // To every client of the channel (a client in several of the channels gets it once),
  // except the connection that caused it.
  notifyTeam(team: string, text: string, exceptClientId?: string) {
    return this.hub.broadcast(
      { event: 'notice', data: { text } },
      { channels: `team:${team}`, except: exceptClientId },
    );
  }

  // To one connection, wherever it is connected. Not kept for replay.
  alert(clientId: string, text: string) {
    return this.hub.sendTo(clientId, { event: 'alert', data: { level: 'warn', text } });
  }

  // Who is connected to this instance, and ending a stream from outside.
  async kickAll(team: string) {
    for (const client of this.hub.clients(`team:${team}`)) await this.hub.close(client.id);
    return this.hub.count(`team:${team}`);
  }
}
