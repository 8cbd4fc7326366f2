import { encodeComment, encodeEvent, encodeRetry, SseEncodeError } from '../../../src/wire';

describe('encodeEvent', () => {
  it('writes the fields in order and ends with a blank line', () => {
    expect(encodeEvent({ comment: 'hi', event: 'update', id: '7', retry: 1500, data: 'x' })).toBe(': hi\nevent: update\nid: 7\nretry: 1500\ndata: x\n\n');
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

describe('encodeComment and encodeRetry', () => {
  it('splits a comment into ":" lines', () => {
    expect(encodeComment('one\r\ntwo')).toBe(': one\n: two\n\n');
  });

  it('writes a lone retry field and refuses a bad one', () => {
    expect(encodeRetry(0)).toBe('retry: 0\n\n');
    expect(() => encodeRetry(-5)).toThrow(SseEncodeError);
  });
});
