import { Controller, NotFoundException, Param } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import { interval, map } from 'rxjs';
import { ConnectedClient, SseClient, SseRoute } from 'nestjs-sse-hub';

@Controller('feeds')
export class TickerController {
  // An Observable: each value is an event; the stream ends when it completes.
  @SseRoute('ticks')
  ticks() {
    return interval(1_000).pipe(map((i) => ({ event: 'tick', data: { i } })));
  }

  // An AsyncIterable works the same. The handler checks first and throws: the 404 is a
  // real HTTP status, as nothing has been written. (An error thrown inside the generator
  // comes after the headers: the client gets `event: error`, and the stream ends.)
  @SseRoute('jobs/:id')
  progress(@Param('id') id: string) {
    if (id !== 'demo') throw new NotFoundException(`No job ${id}`);
    return this.steps();
  }

  private async *steps() {
    for (let percent = 0; percent <= 100; percent += 25) {
      yield { event: 'progress', data: { percent } };
      await sleep(100);
    }
  }

  // Or write to the client yourself; the stream stays open for the hub until one side closes it.
  @SseRoute('clock')
  clock(@ConnectedClient() client: SseClient) {
    const timer = setInterval(() => client.send({ event: 'time', data: new Date().toISOString() }), 1_000);
    client.onClose(() => clearInterval(timer));
  }
}
