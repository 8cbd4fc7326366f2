import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { ConsoleLogger, Logger, type LoggerService } from '@nestjs/common';
import { ThrottledLogger } from '../../../src/hub/throttled-logger';

describe('ThrottledLogger', () => {
  const lines: Array<{ level: string; message: string; context?: string }> = [];
  const capture: LoggerService = {
    log: (message: string, context?: string) => lines.push({ level: 'log', message, context }),
    warn: (message: string, context?: string) => lines.push({ level: 'warn', message, context }),
    error: (message: string, _stack?: string, context?: string) =>
      lines.push({ level: 'error', message, context }),
  };

  beforeEach(() => {
    jest.useFakeTimers();
    lines.length = 0;
    Logger.overrideLogger(capture);
  });
  afterEach(() => {
    jest.useRealTimers();
    Logger.overrideLogger(new ConsoleLogger());
  });

  it('writes the first line of a kind, counts the repeats of the window, then says how many there were and the last', () => {
    const logger = new ThrottledLogger('SseHub', 10_000);
    for (let i = 0; i < 10_000; i++) logger.warn('slow-consumer', `slow consumer ${i}`);
    expect(lines).toEqual([{ level: 'warn', message: 'slow consumer 0', context: 'SseHub' }]);
    jest.advanceTimersByTime(10_000);
    expect(lines).toHaveLength(2);
    expect(lines[1].message).toBe(
      '9999 more like this in 10 s (not written one by one); the last: slow consumer 9999',
    );
    // A window later, the next one is written again.
    logger.warn('slow-consumer', 'slow consumer again');
    expect(lines.at(-1)!.message).toBe('slow consumer again');
  });

  it('holds back each kind on its own, and writes a single line with no summary', () => {
    const logger = new ThrottledLogger('SseRoute', 10_000);
    logger.error('hook-onClose', 'onClose threw');
    logger.error('hook-onJoin', 'onJoin threw');
    jest.advanceTimersByTime(20_000);
    expect(lines.map((line) => line.message)).toEqual(['onClose threw', 'onJoin threw']);
  });

  it('writes every line of kinds it cannot follow (more than a thousand live at once) rather than lose them', () => {
    const logger = new ThrottledLogger('SseRoute', 10_000);
    for (let i = 0; i < 1500; i++) logger.error(`onClose:error ${i}`, `onClose threw: error ${i}`);
    expect(lines).toHaveLength(1500);
    // Once their windows are over, their places are free again: a repeat of a new kind is held back.
    jest.advanceTimersByTime(10_000);
    logger.error('onJoin:x', 'onJoin threw: x');
    logger.error('onJoin:x', 'onJoin threw: x');
    expect(lines).toHaveLength(1501);
  });
});
