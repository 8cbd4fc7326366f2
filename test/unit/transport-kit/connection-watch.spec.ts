import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { ConsoleLogger, Logger, type LoggerService } from '@nestjs/common';
import { SseTransportUnavailableError } from '../../../src/hub';
import { ConnectionWatch, ServerAddress, ThrottledLogger } from '../../../src/transport-kit';

describe('ConnectionWatch', () => {
  const lines: Array<{ level: string; message: string }> = [];
  const capture: LoggerService = {
    log: (message: string) => lines.push({ level: 'log', message }),
    warn: (message: string) => lines.push({ level: 'warn', message }),
    error: (message: string) => lines.push({ level: 'error', message }),
  };
  const server = new ServerAddress('redis://app:s3cret@cache:6380/2');
  const watch = () =>
    new ConnectionWatch(new ThrottledLogger('Test', 0), 'Redis', server, {
      publisher: 'publishes',
      reader: 'reads',
    });

  beforeEach(() => {
    lines.length = 0;
    Logger.overrideLogger(capture);
  });
  afterEach(() => Logger.overrideLogger(new ConsoleLogger()));

  it('says once that a connection is lost, without its password, and once that it is back', () => {
    const links = watch();
    links.failed('reader', new Error('connect ECONNREFUSED (s3cret)'));
    links.failed('reader', new Error('still refused'));
    links.recovered('reader');
    links.recovered('reader');
    expect(lines).toEqual([
      {
        level: 'error',
        message:
          'Redis reader connection to redis://app@cache:6380/2 failed (connect ECONNREFUSED (***)); retrying. ' +
          'No hub message reaches this instance until it is back: check that Redis runs and is reachable.',
      },
      { level: 'log', message: 'Redis reader connection to redis://app@cache:6380/2 is back.' },
    ]);
  });

  it('tells state() what is down and why, and that it is closed once it is', () => {
    const links = watch();
    expect(links.state([false, undefined])).toEqual({ up: true });
    links.failed('publisher', new Error('ETIMEDOUT'));
    expect(links.state([links.notReady('publisher'), false])).toEqual({
      up: false,
      reason:
        'Redis at redis://app@cache:6380/2: the publisher connection is not ready (ETIMEDOUT), ' +
        'so broadcasts are refused.',
    });
    links.close();
    links.failed('reader', new Error('closed'));
    expect(lines).toHaveLength(1);
    expect(links.state([])).toEqual({
      up: false,
      reason: 'the transport is closed: the application is shutting down',
    });
  });

  it('makes an SseTransportUnavailableError that names the server and not the password', () => {
    const error = watch().unavailable(new Error('AUTH s3cret refused'));
    expect(error).toBeInstanceOf(SseTransportUnavailableError);
    expect(error.message).toBe(
      'Redis at redis://app@cache:6380/2 is not reachable (AUTH *** refused): nothing was sent. ' +
        'Retry once Redis is back.',
    );
  });
});
