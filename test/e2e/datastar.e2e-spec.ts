import { Controller, RequestMethod } from '@nestjs/common';
import { of } from 'rxjs';
import { SseHub, SseRoute } from 'nestjs-sse-hub';
import { DatastarSignals, patchElements, patchSignals, removeElements } from 'nestjs-sse-hub/datastar';
import { openSseStream } from 'nestjs-sse-hub/testing';
import { startApp, type TestApp } from './support/start-app';

@Controller('ds')
class DatastarController {
  // What Datastar's @get sends: the signals in the `datastar` query parameter.
  @SseRoute('counter')
  counter(@DatastarSignals() signals: { count?: number }) {
    const count = (signals.count ?? 0) + 1;
    // Two events, then the response ends, as a Datastar action's stream does.
    return of(patchSignals({ count }), patchElements(`<span id="count">${count}</span>`));
  }

  // A stream that stays open for the hub's broadcasts.
  @SseRoute('live', { channels: ['live'] })
  live() {
    return patchSignals({ connected: true });
  }

  // What @post sends: the signals as the JSON body.
  @SseRoute('greet', { method: RequestMethod.POST })
  greet(@DatastarSignals() signals: { name?: string }) {
    return patchElements(`<p id="greeting">Hello, ${signals.name ?? 'stranger'}</p>`);
  }
}

describe('Datastar helpers on a route and through the hub', () => {
  let t: TestApp;
  beforeAll(async () => (t = await startApp({ controllers: [DatastarController] })));
  afterAll(() => t.app.close());
  afterEach(() => expect(t.logger.errors()).toEqual([]));

  it('reads GET signals from the datastar query parameter and streams patch events', async () => {
    const stream = await openSseStream(
      t.url,
      `/ds/counter?datastar=${encodeURIComponent(JSON.stringify({ count: 41 }))}`,
    );
    expect(stream.status).toBe(200);
    await stream.closed();
    expect(stream.body).toBe(
      'event: datastar-patch-signals\ndata: signals {"count":42}\n\n' +
        'event: datastar-patch-elements\ndata: elements <span id="count">42</span>\n\n',
    );
  });

  it('reads POST signals from the JSON body', async () => {
    const stream = await openSseStream(t.url, '/ds/greet', { method: 'POST', body: { name: 'Ada' } });
    expect(await stream.nextEvent()).toMatchObject({
      event: 'datastar-patch-elements',
      data: 'elements <p id="greeting">Hello, Ada</p>',
    });
    stream.close();
  });

  it('answers 400 with a clear message when the signals are not JSON', async () => {
    const stream = await openSseStream(t.url, '/ds/counter?datastar=%7Bnot-json');
    expect(stream.status).toBe(400);
    expect(JSON.parse(stream.body).message).toMatch(
      /^Datastar signals must be JSON \(the "datastar" query parameter\): /,
    );
  });

  it('broadcasts Datastar events through the hub, encoded as the ADR says, with the hub id', async () => {
    const stream = await openSseStream(t.url, '/ds/live');
    await stream.take(1);
    await t.app.get(SseHub).broadcast(removeElements('#toast'), { channels: 'live' });
    const event = await stream.nextEvent();
    expect(event).toMatchObject({ event: 'datastar-patch-elements', data: 'selector #toast\nmode remove' });
    expect(event.id).toMatch(/^\d+-\d+$/);
    stream.close();
  });
});
