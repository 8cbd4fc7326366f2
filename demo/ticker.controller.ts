import { Controller } from '@nestjs/common';
import { interval, map } from 'rxjs';
import { SseRoute } from 'nestjs-sse-hub';

@Controller()
export class TickerController {
  /** A stream of the handler's own: one tick a second for as long as the client stays. */
  @SseRoute('ticker')
  ticker() {
    return interval(1000).pipe(map((n) => ({ event: 'tick', data: { n, time: new Date().toISOString() } })));
  }
}
