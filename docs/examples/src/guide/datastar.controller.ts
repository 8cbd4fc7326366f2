import { Controller, RequestMethod } from '@nestjs/common';
import { of } from 'rxjs';
import { SseHub, SseRoute } from 'nestjs-sse-hub';
import { DatastarSignals, executeScript, patchElements, patchSignals } from 'nestjs-sse-hub/datastar';

@Controller('counter')
export class CounterController {
  constructor(private readonly hub: SseHub) {}

  // data-on-click="@get('/counter/increment')": the signals arrive in ?datastar=…
  @SseRoute('increment')
  increment(@DatastarSignals() signals: { count?: number }) {
    const count = (signals.count ?? 0) + 1;
    return of(patchSignals({ count }), patchElements(`<span id="count">${count}</span>`));
  }

  // @post('/counter/reset') sends them as the JSON body; a POST stream works the same.
  @SseRoute('reset', { method: RequestMethod.POST })
  reset() {
    return of(patchSignals({ count: 0 }), executeScript('console.log("reset")'));
  }

  // To every page that has a stream open, encoded once for all of them.
  toast(text: string) {
    return this.hub.broadcast(
      patchElements(`<div id="toast">${text}</div>`, { selector: '#toasts', mode: 'append' }),
    );
  }
}
