import { keptRequest } from '../../../src/connection/kept-request';

describe('what a started stream keeps of its request', () => {
  const request = {
    method: 'GET',
    url: '/events?room=a',
    headers: { accept: 'text/event-stream' },
    query: { room: 'a' },
    params: {},
    user: { id: 'u1' },
    ip: '127.0.0.1',
    socket: { big: true },
    get originalUrl() {
      return '/api/events?room=a';
    },
  };

  it('by default: method, url, originalUrl (read through getters), headers, params, query and user, as a plain object', () => {
    const kept = keptRequest(request) as Record<string, unknown>;
    expect(kept).toEqual({
      method: 'GET',
      url: '/events?room=a',
      originalUrl: '/api/events?room=a',
      headers: request.headers,
      params: {},
      query: { room: 'a' },
      user: { id: 'u1' },
    });
    expect(Object.getPrototypeOf(kept)).toBe(Object.prototype);
  });

  it("'all' keeps the request itself; a list keeps those of its properties that it has", () => {
    expect(keptRequest(request, 'all')).toBe(request);
    expect(keptRequest(request, ['ip', 'missing'])).toEqual({ ip: '127.0.0.1' });
  });

  it('leaves what is not an object as it is', () => {
    expect(keptRequest(undefined)).toBeUndefined();
  });
});
