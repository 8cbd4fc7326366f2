import { HttpException, HttpStatus, Inject, Injectable } from '@nestjs/common';
import { type SseRejectReason } from '../hub';
import { type SseModuleOptions } from './sse-module-options.interface';
import { type SseConnectionsPer } from './sse-stream-options.interface';
import { SSE_RESOLVED_OPTIONS } from './sse-resolved-options';

/** Seconds a refused client is told to wait (`Retry-After`). */
export const LIMIT_RETRY_AFTER_SECONDS = 5;

/** A refusal for the exception filters: the status, and when to come back. */
export class SseLimitException extends HttpException {
  constructor(
    status: HttpStatus.SERVICE_UNAVAILABLE | HttpStatus.TOO_MANY_REQUESTS,
    message: string,
    /** Which limit it was, as metrics name it. */
    readonly reason: Extract<SseRejectReason, 'max_connections' | 'max_connections_per'>,
    readonly retryAfter = LIMIT_RETRY_AFTER_SECONDS,
  ) {
    super(message, status);
  }
}

/**
 * Counts open streams, in all (`maxConnections`) and per key of the request
 * (`maxConnectionsPer`, one count per configuration, so a route's limit is its own),
 * and refuses a stream past a limit before any work is done for it.
 */
@Injectable()
export class SseConnectionLimiter {
  private open = 0;
  private readonly perKey = new WeakMap<SseConnectionsPer, Map<string, number>>();

  constructor(@Inject(SSE_RESOLVED_OPTIONS) private readonly options: SseModuleOptions) {}

  /** How many streams are open (counted in, not yet counted out). */
  get openStreams(): number {
    return this.open;
  }

  /** Counts out a stream without a per-key limit (the interceptor calls it once, on close). */
  private readonly releaseOne = (): void => {
    this.open--;
  };

  /**
   * Counts one stream (of `user`, if it has one) in, and returns how to count it out (call
   * it once); throws `SseLimitException` past a limit.
   */
  acquire(
    request: unknown,
    per: SseConnectionsPer | undefined = this.options.maxConnectionsPer,
    user?: string,
  ): () => void {
    const max = this.options.maxConnections;
    if (max !== undefined && this.open >= max) {
      throw new SseLimitException(
        HttpStatus.SERVICE_UNAVAILABLE,
        `This server has reached its limit of ${max} event streams; retry later.`,
        'max_connections',
      );
    }
    const key = per?.key === 'user' ? user : per?.key(request);
    let counts: Map<string, number> | undefined;
    if (per && key !== undefined) {
      counts = this.perKey.get(per) ?? new Map();
      this.perKey.set(per, counts);
      if ((counts.get(key) ?? 0) >= per.limit) {
        throw new SseLimitException(
          HttpStatus.TOO_MANY_REQUESTS,
          `Too many event streams for this ${per.key === 'user' ? 'user' : 'client'} (limit ${per.limit}); close one or retry later.`,
          'max_connections_per',
        );
      }
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    this.open++;
    // Most streams have no per-key limit: one shared function, not a closure each.
    if (!counts) return this.releaseOne;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.open--;
      if (counts && key !== undefined) {
        const left = counts.get(key)! - 1;
        if (left === 0) counts.delete(key);
        else counts.set(key, left);
      }
    };
  }
}
