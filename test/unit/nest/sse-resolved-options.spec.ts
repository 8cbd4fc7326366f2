import { InMemoryTransport } from '../../../src/hub/in-memory.transport';
import { resolveOptions, resolveRoute } from '../../../src/nest/sse-resolved-options';
import { SseRoute } from '../../../src/nest/sse-route.decorator';

describe('route options over module options over the defaults', () => {
  it('takes the route’s, then the module’s, then the defaults', () => {
    const resolved = resolveRoute(
      {
        keepAlive: 5000,
        retry: 100,
        resyncEvent: 'module-resync',
        replay: { limit: 10 },
        slowConsumer: 'drop',
      },
      { retry: 200, channels: 'room', presenceEvents: true },
    );
    expect(resolved.client).toEqual({
      keepAlive: 5000,
      retry: 200,
      maxPendingBytes: 1024 * 1024,
      slowConsumer: 'drop',
      maxEventBytes: undefined,
      resyncEvent: 'module-resync',
      keepRequest: undefined,
    });
    expect(resolved.stream).toEqual({
      channels: 'room',
      presence: undefined,
      presenceEvents: true,
      replayLimit: 10,
      resyncEvent: 'module-resync',
    });
    expect(resolveRoute({}, {}).client.keepAlive).toBe(15_000);
    expect(resolveRoute({}, {}).stream.replayLimit).toBe(Infinity);
  });

  it('replays nothing where the route or the module says replay: false, and the route may limit it', () => {
    expect(resolveRoute({ replay: false }, {}).stream.replayLimit).toBe(false);
    expect(resolveRoute({}, { replay: false }).stream.replayLimit).toBe(false);
    expect(resolveRoute({ replay: false }, { replay: { limit: 3 } }).stream.replayLimit).toBe(3);
  });

  it('refuses history beside another transport, history: false, and a route’s history, each saying what to give', () => {
    expect(() => resolveOptions({ history: { size: 10 }, transport: new InMemoryTransport() })).toThrow(
      /history sets what the in-process transport keeps; InMemoryTransport keeps its own history/,
    );
    expect(() => resolveOptions({ history: false as never })).toThrow(
      /To replay nothing, give replay: false/,
    );
    expect(() => resolveOptions({ replay: { limit: -1 } })).toThrow(/replay must be false or \{ limit \}/);
    expect(() => SseRoute('x', { history: { size: 2 } } as never)).toThrow(
      /replay: \{ limit \} or replay: false/,
    );
    expect(resolveOptions({ history: { size: 10 } })).toEqual({ history: { size: 10 } });
  });

  it("keeps the route's keepRequest over the module's, and refuses anything but 'all' or a list of names", () => {
    expect(resolveRoute({ keepRequest: 'all' }, {}).client.keepRequest).toBe('all');
    expect(resolveRoute({ keepRequest: 'all' }, { keepRequest: ['user'] }).client.keepRequest).toEqual([
      'user',
    ]);
    expect(() => SseRoute('x', { keepRequest: 'some' as never })).toThrow(
      /@SseRoute\(\): keepRequest must be 'all' or a list of the request's property names to keep, got "some"/,
    );
    expect(() => SseRoute('x', { keepRequest: ['user', ''] })).toThrow(/keepRequest must be/);
  });
});
