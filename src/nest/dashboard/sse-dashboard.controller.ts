import {
  type CanActivate,
  Controller,
  Get,
  Header,
  type OnModuleInit,
  Req,
  type Type,
  UseGuards,
} from '@nestjs/common';
import { ApplicationConfig } from '@nestjs/core';
import { map, type Observable, timer } from 'rxjs';
import { SseHub, type SseHubStats } from '../../hub';
import { type SseGateway } from '../sse-gateway.interface';
import { SseRoute } from '../sse-route.decorator';
import { dashboardPage } from './dashboard-page';
import { DASHBOARD_SCRIPT } from './dashboard-script';
import { type SseDashboardOptions } from './sse-dashboard-options.interface';
import { SseDashboardUnguardedError } from './sse-dashboard-unguarded.error';

/** How often the stream sends a snapshot: the charts' resolution. */
const STATS_INTERVAL = 1_000;

function isGuard(guard: unknown): guard is Type<CanActivate> | CanActivate {
  return (
    typeof guard === 'function' ||
    (typeof guard === 'object' && guard !== null && typeof (guard as CanActivate).canActivate === 'function')
  );
}

/** Refuses options that would give a dashboard nobody can find or a guard Nest cannot run. */
function validateDashboardOptions(options: SseDashboardOptions, where: string): void {
  if (typeof options !== 'object' || options === null)
    throw new TypeError(`${where}: dashboard must be { path, guard? }, got ${String(options)}.`);
  if (typeof options.path !== 'string' || options.path.trim() === '') {
    throw new TypeError(
      `${where}: dashboard.path must be a non-empty string such as '/sse-hub', got ${JSON.stringify(options.path)}.`,
    );
  }
  if (options.guard !== undefined && !isGuard(options.guard)) {
    throw new TypeError(
      `${where}: dashboard.guard must be a guard class or an object with canActivate(), got ${String(options.guard)}.`,
    );
  }
}

/** The path the request came by (global prefix included, trailing slash not), and its query string. */
function pathAndQuery(request: any): [string, string] {
  const raw = request.raw ?? request; // Fastify wraps Node's request
  const url: string = raw.originalUrl ?? raw.url ?? '/';
  const at = url.indexOf('?');
  // One leading slash: '//host' in a script's src would load it from another site.
  const path = (at < 0 ? url : url.slice(0, at)).replace(/^\/+/, '/').replace(/\/+$/, '');
  return [path, at < 0 ? '' : url.slice(at)];
}

/**
 * The controller of `SseModule.forRoot({ dashboard })`, made for its path: the page, its
 * script, and a stream of `SseHub.stats()` every second. Every route is behind the
 * dashboard's guard, if it has one, and the app's global guards.
 */
export function createSseDashboardController(
  options: SseDashboardOptions,
  where = 'SseModule.forRoot({ dashboard })',
): Type<unknown> {
  validateDashboardOptions(options, where);
  const { path, guard } = options;

  @Controller(path)
  class SseDashboardController implements SseGateway, OnModuleInit {
    constructor(
      private readonly hub: SseHub,
      private readonly config: ApplicationConfig,
    ) {}

    // Global guards are all registered by now: APP_GUARD providers when the app was
    // created, app.useGlobalGuards() before init.
    onModuleInit(): void {
      const globalGuards = this.config.getGlobalGuards().length + this.config.getGlobalRequestGuards().length;
      if (!guard && globalGuards === 0) throw new SseDashboardUnguardedError(path);
    }

    @Get()
    @Header('content-type', 'text/html; charset=utf-8')
    @Header('cache-control', 'no-store')
    page(@Req() request: unknown): string {
      return dashboardPage(...pathAndQuery(request));
    }

    @Get('dashboard.js')
    @Header('content-type', 'text/javascript; charset=utf-8')
    @Header('x-content-type-options', 'nosniff')
    script(): string {
      return DASHBOARD_SCRIPT;
    }

    // A snapshot at once, then every second; a reconnect starts afresh, with nothing to replay.
    @SseRoute('stream', { replay: false })
    stream(): Observable<{ event: 'stats'; data: SseHubStats }> {
      return timer(0, STATS_INTERVAL).pipe(map(() => ({ event: 'stats' as const, data: this.hub.stats() })));
    }

    // The app's broadcasts are for its own clients: none of them is sent to the dashboard.
    readonly onMessage = (): undefined => undefined;
  }

  if (guard) UseGuards(guard)(SseDashboardController);
  return SseDashboardController;
}
