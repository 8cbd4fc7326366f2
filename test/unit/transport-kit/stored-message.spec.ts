import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { ConsoleLogger, Logger, type LoggerService } from '@nestjs/common';
import { type SseHubMessage } from '../../../src/hub';
import { StoredMessageReader, storedForm, ThrottledLogger } from '../../../src/transport-kit';

describe('storedForm and StoredMessageReader', () => {
  const errors: string[] = [];
  const capture: LoggerService = {
    log: () => undefined,
    warn: () => undefined,
    error: (message: string) => errors.push(message),
  };
  beforeEach(() => {
    errors.length = 0;
    Logger.overrideLogger(capture);
  });
  afterEach(() => Logger.overrideLogger(new ConsoleLogger()));

  it('stores a broadcast without its id and key (the server keeps those), and reads it back with its new id', () => {
    const message: SseHubMessage = {
      type: 'broadcast',
      value: { data: 'hi' },
      channels: ['x'],
      id: '1-0',
      idempotencyKey: 'order-7',
      publishedAt: 5,
    };
    const [key, entry] = storedForm(message);
    expect(key).toBe('order-7');
    expect(JSON.parse(entry)).toEqual({
      type: 'broadcast',
      value: { data: 'hi' },
      channels: ['x'],
      publishedAt: 5,
    });
    const reader = new StoredMessageReader(new ThrottledLogger('Test'), 'stream', 'bad-entry');
    expect(reader.read(entry, '9-0', 'Entry 9-0')).toEqual({
      type: 'broadcast',
      value: { data: 'hi' },
      channels: ['x'],
      publishedAt: 5,
      id: '9-0',
    });
    expect(storedForm({ type: 'close', clientId: 'c' })).toEqual(['', '{"type":"close","clientId":"c"}']);
  });

  it('skips what is not a hub message, and says where it was and what to do', () => {
    const reader = new StoredMessageReader(new ThrottledLogger('Test'), 'table', 'bad-row');
    expect(reader.read('not json', '3-0', 'Row 3 of "public"."t"')).toBeUndefined();
    expect(errors).toHaveLength(1);
    expect(errors[0].startsWith('Row 3 of "public"."t" is not a hub message and was skipped ')).toBe(true);
    expect(errors[0]).toContain(
      '(is another program writing to this table? give the transport a table of its own): ',
    );
  });
});
