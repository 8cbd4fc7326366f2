import { Controller } from '@nestjs/common';
import { interval, map } from 'rxjs';
import { SseRoute } from 'nestjs-sse-hub';
import { type TickerEvents } from './chat.events';

@Controller()
export class TickerController {
  /** A stream of the handler's own: one tick a second for as long as the client stays. */
  @SseRoute<TickerEvents>('ticker')
  ticker() {
    return interval(1000).pipe(
      map((n) => ({ event: 'tick' as const, data: { n, time: new Date().toISOString() } })),
    );
  }
}
