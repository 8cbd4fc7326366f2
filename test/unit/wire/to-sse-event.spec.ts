import { SseEncodeError, toSseEvent } from '../../../src/wire';

describe('toSseEvent (format_event)', () => {
  it('sends nothing for undefined and null', () => {
    expect(toSseEvent(undefined)).toBeUndefined();
    expect(toSseEvent(null)).toBeUndefined();
  });

  it('turns a string into data', () => {
    expect(toSseEvent('hello\nworld')).toEqual({ data: 'hello\nworld' });
  });

  it('turns other values into JSON data', () => {
    expect(toSseEvent({ user: 'ann', text: 'hi' })).toEqual({ data: '{"user":"ann","text":"hi"}' });
    expect(toSseEvent([1, 2])).toEqual({ data: '[1,2]' });
    expect(toSseEvent(42)).toEqual({ data: '42' });
    expect(toSseEvent(false)).toEqual({ data: 'false' });
  });

  it('reads an event-shaped object field by field, with JSON for non-string data', () => {
    expect(toSseEvent({ event: 'tick', data: { i: 1 }, id: 3, retry: 10 })).toEqual({
      event: 'tick',
      data: '{"i":1}',
      id: '3',
      retry: 10,
    });
    expect(toSseEvent({ event: 'raw', data: 'text' })).toEqual({ event: 'raw', data: 'text' });
  });

  it("accepts NestJS's MessageEvent, whose event name is `type`", () => {
    expect(toSseEvent({ type: 'update', data: 'x', id: '1' })).toEqual({
      event: 'update',
      data: 'x',
      id: '1',
    });
  });

  it('accepts a comment-only event', () => {
    expect(toSseEvent({ comment: 'ping' })).toEqual({ comment: 'ping' });
  });

  it('treats an object with event keys but no data or comment as plain JSON', () => {
    expect(toSseEvent({ id: 5 })).toEqual({ data: '{"id":5}' });
    expect(toSseEvent({ event: 'x' })).toEqual({ data: '{"event":"x"}' });
  });

  it('treats an object with an extra key as plain JSON', () => {
    expect(toSseEvent({ event: 'x', data: 1, user: 'ann' })).toEqual({
      data: '{"event":"x","data":1,"user":"ann"}',
    });
  });

  it('sends `data: null` as JSON null, not as nothing', () => {
    expect(toSseEvent({ event: 'x', data: null })).toEqual({ event: 'x', data: 'null' });
  });

  it('refuses values that have no JSON form, saying why', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => toSseEvent(cyclic)).toThrow(SseEncodeError);
    expect(() => toSseEvent(10n)).toThrow(/JSON/);
    expect(() => toSseEvent(() => 1)).toThrow(/no JSON form/);
  });

  it('refuses both `event` and `type` when they differ, and non-string names', () => {
    expect(() => toSseEvent({ event: 'a', type: 'b', data: 1 })).toThrow(SseEncodeError);
    expect(() => toSseEvent({ event: 5, data: 1 })).toThrow(/must be a string/);
  });
});
