import { Controller, Logger } from '@nestjs/common';
import { SseClient, SseGateway, SseRoute } from 'nestjs-sse-hub';

/** What this app's middleware and guards put on the request. */
interface AuditedRequest {
  user?: { id: string };
  tenant?: string;
  ip?: string;
}

@Controller('audit')
export class AuditController implements SseGateway {
  private readonly logger = new Logger('Audit');

  // onClose runs after the start: keep what it reads of the request (and nothing else).
  @SseRoute('events', { keepRequest: ['user', 'tenant', 'ip'] })
  events() {}

  onClose(client: SseClient<AuditedRequest>) {
    const { user, tenant, ip } = client.request;
    this.logger.log(`stream of ${user?.id} (${tenant}, ${ip}) ended`);
  }
}
