import {
  encodeComment,
  encodeEvent,
  encodeEventParts,
  encodeRetry,
  SseEncodeError,
  SseEventTooLargeError,
} from '../../../src/wire';

describe('encodeEvent', () => {
  it('writes the fields in order and ends with a blank line', () => {
    expect(encodeEvent({ comment: 'hi', event: 'update', id: '7', retry: 1500, data: 'x' })).toBe(
      ': hi\nevent: update\nid: 7\nretry: 1500\ndata: x\n\n',
    );
  });

  it('splits data on LF, CR and CRLF into one data line each', () => {
    expect(encodeEvent({ data: 'a\nb\rc\r\nd' })).toBe('data: a\ndata: b\ndata: c\ndata: d\n\n');
  });

  it('keeps empty lines of data, including a trailing one', () => {
    expect(encodeEvent({ data: '\n' })).toBe('data: \ndata: \n\n');
    expect(encodeEvent({ data: '' })).toBe('data: \n\n');
  });

  it('keeps a leading space of data (the parser strips only the separator)', () => {
    expect(encodeEvent({ data: ' x' })).toBe('data:  x\n\n');
  });

  it.each([
    ['event', { event: 'a\nb' }],
    ['event', { event: 'a\rb' }],
    ['id', { id: '1\r\n2' }],
    ['id', { id: '1\0' }],
    ['retry', { retry: -1 }],
    ['retry', { retry: 1.5 }],
    ['retry', { retry: Number.NaN }],
    ['retry', { retry: '100' as unknown as number }],
  ])('refuses a bad %s with an SseEncodeError naming the field', (field, event) => {
    let thrown: unknown;
    try {
      encodeEvent({ ...event, data: 'x' });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(SseEncodeError);
    expect((thrown as SseEncodeError).field).toBe(field);
    expect((thrown as Error).message).toContain(`"${field}"`);
  });

  it('allows an empty id, which resets the client last event id', () => {
    expect(encodeEvent({ id: '', data: 'x' })).toBe('id: \ndata: x\n\n');
  });
});

describe('encodeEvent under maxEventBytes', () => {
  it('takes an event of exactly the limit and refuses one byte more, counting UTF-8 bytes', () => {
    const event = { event: 'e', data: 'é'.repeat(10) };
    const size = Buffer.byteLength(encodeEvent(event));
    expect(encodeEvent(event, size)).toBe(encodeEvent(event));
    expect(() => encodeEvent(event, size - 1)).toThrow(new SseEventTooLargeError(size, size - 1));
  });

  it('refuses millions of line breaks after work bounded by the limit, saying how far it got', () => {
    const text = '\r\n'.repeat(4 * 1024 * 1024);
    let thrown: unknown;
    try {
      encodeEvent({ data: text }, 1024);
    } catch (error) {
      thrown = error;
    }
    // Refused on the lower bound of its size (the text alone is 8 MiB), before anything was built.
    expect(thrown).toBeInstanceOf(SseEventTooLargeError);
    expect(thrown).toMatchObject({ atLeast: true, maxEventBytes: 1024 });
    expect((thrown as SseEventTooLargeError).message).toMatch(/at least \d+ bytes/);
  });

  it('counts each line break as the data: prefix it becomes, so an event just under the limit passes', () => {
    const event = { data: 'a\nb\r\nc\rd' };
    const size = Buffer.byteLength(encodeEvent(event));
    expect(size).toBe('data: a\ndata: b\ndata: c\ndata: d\n\n'.length);
    expect(encodeEvent(event, size)).toBe('data: a\ndata: b\ndata: c\ndata: d\n\n');
    expect(() => encodeEvent(event, size - 1)).toThrow(SseEventTooLargeError);
  });

  it('keeps room for an id given later (encodeEventParts)', () => {
    const { head, tail } = encodeEventParts({ event: 'x', data: 'y' }, 30, 10);
    expect(head + 'id: 1-0\n' + tail).toBe('event: x\nid: 1-0\ndata: y\n\n');
    expect(() => encodeEventParts({ event: 'x', data: 'y'.repeat(20) }, 30, 10)).toThrow(
      SseEventTooLargeError,
    );
  });
});

describe('encodeComment and encodeRetry', () => {
  it('splits a comment into ":" lines', () => {
    expect(encodeComment('one\r\ntwo')).toBe(': one\n: two\n\n');
  });

  it('writes a lone retry field and refuses a bad one', () => {
    expect(encodeRetry(0)).toBe('retry: 0\n\n');
    expect(() => encodeRetry(-5)).toThrow(SseEncodeError);
  });
});
