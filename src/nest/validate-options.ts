import { type SseModuleOptions } from './sse-module-options.interface';
import { type SseRouteOptions } from './sse-route-options.interface';

function isCount(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}

/** Refuses options that would make every stream misbehave, at start-up rather than per request. */
export function validateStreamOptions(options: SseModuleOptions & SseRouteOptions, where: string): void {
  const {
    keepAlive,
    retry,
    history,
    replay,
    shutdownRetry,
    resyncEvent,
    maxPendingBytes,
    slowConsumer,
    maxEventBytes,
    maxConnections,
    maxConnectionsPer,
    maxTotalPendingBytes,
    presence,
    presenceEvents,
    metrics,
    keepRequest,
    resumable,
    channels,
    user,
  } = options;
  if (user !== undefined && typeof user !== 'function')
    throw new TypeError(
      `${where}: user must be a function of the request giving its user id, e.g. (req) => req.user?.id.`,
    );
  if (resumable !== undefined) validateResumable(resumable, channels, where);
  if (
    keepRequest !== undefined &&
    keepRequest !== 'all' &&
    !(Array.isArray(keepRequest) && keepRequest.every((name) => typeof name === 'string' && name !== ''))
  ) {
    throw new TypeError(
      `${where}: keepRequest must be 'all' or a list of the request's property names to keep, got ${JSON.stringify(keepRequest)}.`,
    );
  }
  for (const [name, value] of Object.entries({
    maxPendingBytes,
    maxEventBytes,
    maxConnections,
    maxTotalPendingBytes,
  })) {
    if (value !== undefined && !(isCount(value) && value > 0))
      throw new TypeError(`${where}: ${name} must be a positive integer, got ${String(value)}.`);
  }
  if (slowConsumer !== undefined && slowConsumer !== 'close' && slowConsumer !== 'drop') {
    throw new TypeError(
      `${where}: slowConsumer must be 'close' or 'drop', got ${JSON.stringify(slowConsumer)}.`,
    );
  }
  if (
    maxConnectionsPer !== undefined &&
    !(
      (typeof maxConnectionsPer.key === 'function' || maxConnectionsPer.key === 'user') &&
      isCount(maxConnectionsPer.limit) &&
      maxConnectionsPer.limit > 0
    )
  ) {
    throw new TypeError(
      `${where}: maxConnectionsPer must be { key: 'user' | (request) => string | undefined, limit: positive integer }.`,
    );
  }
  if (
    keepAlive !== undefined &&
    keepAlive !== false &&
    !(typeof keepAlive === 'number' && Number.isFinite(keepAlive) && keepAlive > 0)
  ) {
    throw new TypeError(
      `${where}: keepAlive must be a positive number of milliseconds or false, got ${String(keepAlive)}.`,
    );
  }
  if (retry !== undefined && !(Number.isSafeInteger(retry) && retry >= 0)) {
    throw new TypeError(
      `${where}: retry must be a non-negative integer number of milliseconds, got ${String(retry)}.`,
    );
  }
  if (
    history !== undefined &&
    !(
      typeof history === 'object' &&
      history !== null &&
      (history.size === undefined || isCount(history.size))
    )
  ) {
    const hint = (history as unknown) === false ? ' To replay nothing, give replay: false.' : '';
    throw new TypeError(
      `${where}: history must be { size } with a non-negative integer size, got ${JSON.stringify(history)}.${hint}`,
    );
  }
  if (
    replay !== undefined &&
    replay !== false &&
    !(typeof replay === 'object' && replay !== null && (replay.limit === undefined || isCount(replay.limit)))
  ) {
    throw new TypeError(
      `${where}: replay must be false or { limit } with a non-negative integer limit, got ${JSON.stringify(replay)}.`,
    );
  }
  if (
    shutdownRetry !== undefined &&
    shutdownRetry !== false &&
    !(isCount(shutdownRetry?.min) && isCount(shutdownRetry?.max) && shutdownRetry.min <= shutdownRetry.max)
  ) {
    throw new TypeError(
      `${where}: shutdownRetry must be false or { min, max } with integers 0 ≤ min ≤ max, got ${JSON.stringify(shutdownRetry)}.`,
    );
  }
  if (
    resyncEvent !== undefined &&
    (typeof resyncEvent !== 'string' || resyncEvent === '' || /[\r\n]/.test(resyncEvent))
  ) {
    throw new TypeError(
      `${where}: resyncEvent must be a non-empty event name without line breaks, got ${JSON.stringify(resyncEvent)}.`,
    );
  }
  if (presence !== undefined && typeof presence !== 'function') {
    throw new TypeError(
      `${where}: presence must be a function (client) => info, got ${JSON.stringify(presence)}.`,
    );
  }
  if (
    metrics !== undefined &&
    metrics !== false &&
    !(
      typeof metrics === 'object' &&
      metrics !== null &&
      (metrics.meterProvider === undefined || typeof metrics.meterProvider?.getMeter === 'function')
    )
  ) {
    throw new TypeError(
      `${where}: metrics must be false or { meterProvider } with an OpenTelemetry MeterProvider, got ${String(metrics)}.`,
    );
  }
  if (presenceEvents !== undefined && typeof presenceEvents !== 'boolean') {
    throw new TypeError(
      `${where}: presenceEvents must be true or false, got ${JSON.stringify(presenceEvents)}.`,
    );
  }
}

function validateResumable(resumable: SseRouteOptions['resumable'], channels: unknown, where: string): void {
  if (typeof resumable !== 'object' || resumable === null || typeof resumable.key !== 'function') {
    throw new TypeError(
      `${where}: resumable must be { key: (request) => string, create?, ttl?, maxEvents?, maxBytes?, maxDuration? }.`,
    );
  }
  if (resumable.create !== undefined && typeof resumable.create !== 'boolean')
    throw new TypeError(
      `${where}: resumable.create must be true or false, got ${JSON.stringify(resumable.create)}.`,
    );
  for (const name of ['ttl', 'maxEvents', 'maxBytes', 'maxDuration'] as const) {
    const value = resumable[name];
    if (value !== undefined && !(isCount(value) && value > 0))
      throw new TypeError(`${where}: resumable.${name} must be a positive integer, got ${String(value)}.`);
  }
  if (channels !== undefined) {
    throw new TypeError(
      `${where}: a resumable route joins no channels (its event ids are the run's, and a broadcast's would break resuming): ` +
        'leave channels out, and send to its readers through the run.',
    );
  }
}
