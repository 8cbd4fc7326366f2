import {
  type CanActivate,
  type ExecutionContext,
  Injectable,
  type INestApplication,
  Module,
  type ModuleMetadata,
  Scope,
} from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Test, type TestingModule } from '@nestjs/testing';
import { get } from 'node:http';
import {
  SseDashboardModule,
  SseDashboardUnguardedError,
  SseHub,
  type SseHubStats,
  SseModule,
} from 'nestjs-sse-hub';
import { openSseStream } from 'nestjs-sse-hub/testing';
import { baseUrlOf } from '../../src/testing/open-sse-stream';
import { platform, startApp, type TestApp } from './support/start-app';

// The dashboard over HTTP, on every platform: it refuses to start unguarded, its guard
// covers the page, the script and the stream, and the stream carries SseHub.stats().
// What the page does with it is dashboard-browser.e2e-spec.ts, in Chromium.

/** Lets in requests with ?token=letmein (a guard that reads the query, as EventSource sends no headers). */
@Injectable()
class TokenGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    return context.switchToHttp().getRequest().query?.token === 'letmein';
  }
}

@Injectable()
class AllowAll implements CanActivate {
  canActivate(): boolean {
    return true;
  }
}

@Injectable()
class AdminToken {
  readonly value = 'from-config';
}

@Module({ providers: [AdminToken], exports: [AdminToken] })
class AdminModule {}

/** A guard with a dependency: created inside SseModule, from what forRootAsync imports. */
@Injectable()
class ConfiguredGuard implements CanActivate {
  constructor(private readonly token: AdminToken) {}

  canActivate(context: ExecutionContext): boolean {
    return context.switchToHttp().getRequest().query?.token === this.token.value;
  }
}

const DASHBOARD = { path: '/sse-hub' };

/** An app of the module on this run's platform, not started. */
function appOf(moduleRef: TestingModule): INestApplication {
  return platform() === 'fastify'
    ? moduleRef.createNestApplication(new FastifyAdapter(), { logger: false })
    : moduleRef.createNestApplication({ logger: false });
}

describe('the dashboard', () => {
  describe('refuses to start without a guard', () => {
    async function init(
      metadata: ModuleMetadata,
      configure?: (app: INestApplication) => void,
    ): Promise<unknown> {
      const app = appOf(await Test.createTestingModule(metadata).compile());
      try {
        configure?.(app);
        await app.init();
        return undefined;
      } catch (error) {
        return error;
      } finally {
        await app.close();
      }
    }

    it.each([
      ['forRoot', () => SseModule.forRoot({ dashboard: DASHBOARD })],
      ['forRootAsync', () => SseModule.forRootAsync({ useFactory: () => ({}), dashboard: DASHBOARD })],
    ])('with neither a guard of its own nor a global one (%s), and says what to do', async (_how, module) => {
      const error = await init({ imports: [module()] });
      expect(error).toBeInstanceOf(SseDashboardUnguardedError);
      expect((error as Error).message).toMatch(
        /dashboard at \/sse-hub has no guard and the app has no global guard/,
      );
      expect((error as Error).message).toMatch(
        /guard: YourAdminGuard.*or register a global guard \(an APP_GUARD provider, or app\.useGlobalGuards\(\)/,
      );
    });

    it('but starts with a guard of its own, with app.useGlobalGuards(), or with an APP_GUARD provider (request-scoped too)', async () => {
      expect(
        await init({ imports: [SseModule.forRoot({ dashboard: { ...DASHBOARD, guard: TokenGuard } })] }),
      ).toBeUndefined();
      expect(
        await init({ imports: [SseModule.forRoot({ dashboard: { ...DASHBOARD, guard: new AllowAll() } })] }),
      ).toBeUndefined();
      expect(
        await init({ imports: [SseModule.forRoot({ dashboard: DASHBOARD })] }, (app) =>
          app.useGlobalGuards(new AllowAll()),
        ),
      ).toBeUndefined();
      expect(
        await init({
          imports: [SseModule.forRoot({ dashboard: DASHBOARD })],
          providers: [{ provide: APP_GUARD, useClass: AllowAll }],
        }),
      ).toBeUndefined();
      expect(
        await init({
          imports: [SseModule.forRoot({ dashboard: DASHBOARD })],
          providers: [{ provide: APP_GUARD, useClass: AllowAll, scope: Scope.REQUEST }],
        }),
      ).toBeUndefined();
    });

    it('and is off unless asked for: no route, no check', async () => {
      const t = await startApp({});
      try {
        expect((await fetch(`${t.url}/sse-hub`)).status).toBe(404);
      } finally {
        await t.app.close();
      }
    });
  });

  it.each([
    [{ path: '' }, /dashboard\.path must be a non-empty string such as '\/sse-hub', got ""/],
    [{ path: 42 }, /dashboard\.path must be a non-empty string/],
    [
      { path: '/x', guard: 'admin' },
      /dashboard\.guard must be a guard class or an object with canActivate\(\), got admin/,
    ],
  ])('refuses bad options when the module is declared: %p', (dashboard, message) => {
    expect(() => SseModule.forRoot({ dashboard: dashboard as never })).toThrow(message);
    expect(() => SseModule.forRootAsync({ useFactory: () => ({}), dashboard: dashboard as never })).toThrow(
      message,
    );
  });

  it('refuses a dashboard returned by the forRootAsync factory, which comes too late for its routes', async () => {
    const moduleRef = Test.createTestingModule({
      imports: [SseModule.forRootAsync({ useFactory: () => ({ dashboard: DASHBOARD }) as never })],
    }).compile();
    await expect(moduleRef).rejects.toThrow(
      /give dashboard beside useFactory \(\{ useFactory, dashboard \}\), not in what the factory returns/,
    );
  });

  describe('with a guard', () => {
    let t: TestApp;

    beforeAll(async () => {
      t = await startApp({}, { dashboard: { path: '/sse-hub', guard: TokenGuard } });
    });
    afterAll(async () => {
      await t?.app.close();
      expect(t?.logger.errors() ?? []).toEqual([]);
    });

    it('keeps out whoever it refuses: the page, its script and its stream are all 403', async () => {
      for (const path of ['/sse-hub', '/sse-hub/dashboard.js', '/sse-hub/stream', '/sse-hub?token=wrong']) {
        expect([path, (await fetch(`${t.url}${path}`)).status]).toEqual([path, 403]);
      }
      const stream = await openSseStream(t.url, '/sse-hub/stream');
      expect(stream.status).toBe(403);
      stream.close();
    });

    it('serves a page without inline script, whose script and stream carry its own query string', async () => {
      const response = await fetch(`${t.url}/sse-hub?token=letmein`);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^text\/html; charset=utf-8/);
      const html = await response.text();
      // Only <script src>: a Content-Security-Policy of script-src 'self' runs it.
      expect(html.match(/<script[^>]*>/g)).toEqual(['<script src="/sse-hub/dashboard.js?token=letmein">']);
      expect(html).toMatch(/<script src="[^"]*"><\/script>/);
      expect(html).toContain('data-stream="/sse-hub/stream?token=letmein"');

      const script = await fetch(`${t.url}/sse-hub/dashboard.js?token=letmein`);
      expect(script.status).toBe(200);
      expect(script.headers.get('content-type')).toMatch(/^text\/javascript/);
      expect(await script.text()).toContain('new EventSource(document.body.dataset.stream)');
    });

    it('escapes the query string it writes into the page', async () => {
      // Sent as it is (fetch would percent-encode it): Node lets " < > through in a path.
      const html = await new Promise<string>((resolve, reject) => {
        const { hostname, port } = new URL(t.url);
        get({ hostname, port, path: '/sse-hub?token=letmein&x="><script>alert(1)</script>' }, (response) => {
          let body = '';
          response
            .setEncoding('utf8')
            .on('data', (chunk: string) => (body += chunk))
            .on('end', () => resolve(body))
            .on('error', reject);
        }).on('error', reject);
      });
      expect(html).toContain(
        'data-stream="/sse-hub/stream?token=letmein&#38;x=&#34;&#62;&#60;script&#62;alert(1)&#60;/script&#62;"',
      );
      expect(html.match(/<script/g)).toHaveLength(1);
    });

    it("streams SseHub.stats() at once and every second, and none of the app's broadcasts", async () => {
      const stream = await openSseStream(t.url, '/sse-hub/stream?token=letmein');
      try {
        expect(stream.status).toBe(200);
        const first = await stream.nextEvent();
        expect(first.event).toBe('stats');
        const stats = JSON.parse(first.data) as SseHubStats;
        expect(stats).toMatchObject({
          streams: 1,
          transport: { name: 'InMemoryTransport', up: true },
          broadcasts: 0,
        });
        // The dashboard's stream is a stream like any other: it shows in its own table.
        expect(stats.routes).toEqual([expect.objectContaining({ route: '/sse-hub/stream', streams: 1 })]);

        await t.app.get(SseHub).broadcast({ event: 'secret', data: 'for the app clients only' });
        const next = await stream.nextEvent();
        expect(next.event).toBe('stats');
        const later = JSON.parse(next.data) as SseHubStats;
        expect(later.broadcasts).toBe(1);
        expect(later.time - stats.time).toBeGreaterThanOrEqual(900);
      } finally {
        stream.close();
      }
    });
  });

  it("is added from a feature module with SseDashboardModule.register(), and watches the root's one hub", async () => {
    @Module({ imports: [SseDashboardModule.register({ path: '/admin/sse', guard: TokenGuard })] })
    class AdminFeatureModule {}

    const moduleRef = await Test.createTestingModule({
      imports: [SseModule.forRoot(), AdminFeatureModule],
    }).compile();
    const app = appOf(moduleRef);
    try {
      const url = await baseUrlOf(app);
      expect((await fetch(`${url}/admin/sse`)).status).toBe(403);
      expect((await fetch(`${url}/admin/sse?token=letmein`)).status).toBe(200);
      // A broadcast on the hub the app injects is counted by the dashboard's: they are one.
      await app.get(SseHub).broadcast('hello');
      const stream = await openSseStream(url, '/admin/sse/stream?token=letmein');
      try {
        expect(stream.status).toBe(200);
        const stats = JSON.parse((await stream.nextEvent()).data) as SseHubStats;
        expect(stats).toMatchObject({ streams: 1, broadcasts: 1 });
      } finally {
        stream.close();
      }
    } finally {
      await app.close();
    }
  });

  it('refuses SseDashboardModule.register() without a guard in an app without global guards', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [SseModule.forRoot(), SseDashboardModule.register({ path: '/admin/sse' })],
    }).compile();
    const app = appOf(moduleRef);
    try {
      await expect(app.init()).rejects.toThrow(SseDashboardUnguardedError);
    } finally {
      await app.close();
    }
  });

  it("takes a guard class whose dependencies come from forRootAsync's imports", async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        SseModule.forRootAsync({
          imports: [AdminModule],
          useFactory: () => ({}),
          dashboard: { path: '/sse-hub', guard: ConfiguredGuard },
        }),
      ],
    }).compile();
    const app = appOf(moduleRef);
    try {
      const url = await baseUrlOf(app);
      expect((await fetch(`${url}/sse-hub`)).status).toBe(403);
      expect((await fetch(`${url}/sse-hub?token=from-config`)).status).toBe(200);
    } finally {
      await app.close();
    }
  });

  it('works under a global prefix: the page points at the prefixed script and stream', async () => {
    const t = await startApp(
      {},
      { dashboard: { path: 'sse-hub/', guard: new AllowAll() } },
      { configure: (app) => app.setGlobalPrefix('api') },
    );
    try {
      const html = await (await fetch(`${t.url}/api/sse-hub`)).text();
      expect(html).toContain('<script src="/api/sse-hub/dashboard.js">');
      expect(html).toContain('data-stream="/api/sse-hub/stream"');
      const stream = await openSseStream(t.url, '/api/sse-hub/stream');
      expect((await stream.nextEvent()).event).toBe('stats');
      stream.close();
    } finally {
      await t.app.close();
    }
  });
});
