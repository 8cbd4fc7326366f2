import { createParser, type EventSourceMessage } from 'eventsource-parser';
import fc from 'fast-check';
import { encodeComment, encodeEvent } from '../../../src/wire';

/** What a real client makes of a stream: events and comments, via eventsource-parser. */
function parse(stream: string): { events: EventSourceMessage[]; comments: string[]; retries: number[] } {
  const events: EventSourceMessage[] = [];
  const comments: string[] = [];
  const retries: number[] = [];
  const parser = createParser({
    onEvent: (event) => events.push(event),
    onComment: (comment) => comments.push(comment),
    onRetry: (retry) => retries.push(retry),
  });
  parser.feed(stream);
  return { events, comments, retries };
}

// The characters that break naive encoders: every line terminator, NUL, the field
// separator, a BOM, an astral emoji, and U+2028 (a line break for JavaScript, not for SSE).
const tricky = fc.constantFrom('\r', '\n', '\r\n', '\0', ':', ' ', '\uFEFF', '😀', '\u2028', 'data: x', 'é');
const text = fc
  .array(fc.oneof(tricky, fc.string({ unit: 'grapheme' })), { maxLength: 12 })
  .map((parts) => parts.join(''));
const singleLine = text.map((value) => value.replace(/[\r\n]/g, ''));
const normalise = (value: string) => value.replace(/\r\n|\r/g, '\n');

describe('wire round trip through eventsource-parser', () => {
  it('gives back any data exactly, line endings normalised to LF', () => {
    fc.assert(
      fc.property(text, (data) => {
        const { events } = parse(encodeEvent({ data }));
        expect(events).toHaveLength(1);
        expect(events[0].data).toBe(normalise(data));
      }),
      { numRuns: 5000 },
    );
  });

  it('gives back event names and ids exactly, and keeps events apart in one stream', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            event: singleLine.filter((e) => e.length > 0),
            id: singleLine.map((id) => id.replace(/\0/g, '')),
            data: text,
          }),
          { minLength: 1, maxLength: 5 },
        ),
        (sent) => {
          const { events } = parse(sent.map((event) => encodeEvent(event)).join(''));
          expect(events.map((event) => [event.event, event.id, event.data])).toEqual(
            sent.map((event) => [event.event, event.id, normalise(event.data)]),
          );
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('gives back comments line by line', () => {
    fc.assert(
      fc.property(text, (comment) => {
        const { comments, events } = parse(encodeComment(comment));
        expect(events).toEqual([]);
        expect(comments).toEqual(normalise(comment).split('\n'));
      }),
      { numRuns: 2000 },
    );
  });

  it('gives back retry values', () => {
    fc.assert(
      fc.property(fc.nat(), (retry) => {
        expect(parse(encodeEvent({ retry, data: 'x' })).retries).toEqual([retry]);
      }),
    );
  });
});
