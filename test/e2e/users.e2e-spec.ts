import {
  type CanActivate,
  Controller,
  type ExecutionContext,
  ForbiddenException,
  Injectable,
  UnauthorizedException,
  UseGuards,
} from '@nestjs/common';
import { type IncomingMessage, request as httpRequest } from 'node:http';
import { setImmediate as nextTurn } from 'node:timers/promises';
import {
  ConnectedClient,
  SseClient,
  type SseGateway,
  SseHub,
  SseRoute,
  SseUserIdError,
} from 'nestjs-sse-hub';
import { openSseStream, type SseTestStream } from 'nestjs-sse-hub/testing';
import { startApp, type TestApp } from './support/start-app';

const TOKENS: Record<string, string> = { 't-alice': 'alice', 't-bob': 'bob' };

/** The app's own guard: a bearer token gives `req.user`, as Passport's would. */
@Injectable()
class BearerGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const req = context.switchToHttp().getRequest();
    const token = /^Bearer (.+)$/.exec(String(req.headers.authorization ?? ''))?.[1];
    const id = token === undefined ? undefined : TOKENS[token];
    if (!id) throw new UnauthorizedException('a valid bearer token is required');
    req.user = { id };
    return true;
  }
}

/** What a careless app's user lookup gives, by kind. */
const BAD: Record<string, unknown> = { fraction: 4.2, nan: NaN, empty: '', nul: 'a\0b', object: { id: 'a' } };

/** Async user lookups the test releases when it wants, by the request's x-gate header. */
const gates = new Map<string, (user: string) => void>();
/** The users whose handler ran on the async route. */
const served: Array<string | null> = [];
/** When each gated lookup's connection closed, as the server saw it. */
const gated = new Map<string, Promise<void>>();

@Controller('users')
class UsersController {
  @UseGuards(BearerGuard)
  @SseRoute('inbox', { keepAlive: false, channels: 'inbox', user: (req) => req.user.id })
  inbox(@ConnectedClient() client: SseClient) {
    return { event: 'me', data: client.user };
  }

  @SseRoute('async', {
    keepAlive: false,
    user: async (req) => {
      const gate = req.headers['x-gate'];
      if (!gate) return req.headers['x-user'] || undefined;
      const socket = (req.raw ?? req).socket;
      gated.set(gate, new Promise((closed) => socket.once('close', closed)));
      return new Promise<string>((resolve) => gates.set(gate, resolve));
    },
  })
  async(@ConnectedClient() client: SseClient) {
    served.push(client.user ?? null);
    return { event: 'me', data: client.user ?? null };
  }

  // An app's own thenable that calls back twice.
  @SseRoute('twice', {
    keepAlive: false,
    user: () => ({ then: (resolve: (user: string) => void) => (resolve('tom'), resolve('tim')) }) as any,
  })
  twice(@ConnectedClient() client: SseClient) {
    return { event: 'me', data: client.user };
  }

  @SseRoute('bad/:kind', { keepAlive: false, user: (req) => BAD[req.params.kind] as string })
  bad() {}

  // Ids as an ORM gives them: numbers (a null for none).
  @SseRoute('numeric', {
    keepAlive: false,
    user: (req) => (req.headers['x-id'] ? Number(req.headers['x-id']) : null) as any,
  })
  numeric(@ConnectedClient() client: SseClient) {
    return { event: 'me', data: client.user ?? null };
  }

  @SseRoute('forbidden', {
    user: () => {
      throw new ForbiddenException('not you');
    },
  })
  forbidden() {}

  @SseRoute('limited', {
    keepAlive: false,
    user: (req) => req.headers['x-user'] || undefined,
    maxConnectionsPer: { key: 'user', limit: 2 },
  })
  limited(@ConnectedClient() client: SseClient) {
    return { event: 'me', data: client.user ?? null };
  }
}

/** onMessage's calls, by user: the hub calls it only for the streams a broadcast is for. */
const hooked: string[] = [];

@Controller('hooked')
class HookedController implements SseGateway {
  @SseRoute('events', { keepAlive: false, user: (req) => req.headers['x-user'] || undefined })
  events() {
    return { event: 'ready', data: 'ok' };
  }

  onMessage(message: unknown, client: SseClient) {
    hooked.push(client.user ?? 'anonymous');
    return message;
  }
}

describe('users', () => {
  let t: TestApp;
  let hub: SseHub;
  const streams: SseTestStream[] = [];
  beforeAll(async () => {
    t = await startApp({ controllers: [UsersController, HookedController], providers: [BearerGuard] });
    hub = t.app.get(SseHub);
  });
  afterEach(async () => {
    for (const stream of streams.splice(0)) stream.close();
    await until('every stream has closed', () => hub.count() === 0);
  });
  afterAll(() => t.app.close());

  const open = async (path: string, headers: Record<string, string> = {}) => {
    const stream = await openSseStream(t.url, path, { headers, timeout: 10_000 });
    streams.push(stream);
    return stream;
  };
  const inbox = (token: string) => open('/users/inbox', { authorization: `Bearer ${token}` });
  /** Waits turn by turn until `check` holds: for what the server does after the client's side is done. */
  const until = async (what: string, check: () => boolean, turns = 100_000) => {
    for (let n = 0; !check(); n++) {
      if (n > turns) throw new Error(`never happened: ${what}`);
      await nextTurn();
    }
  };
  const dataUntilEnd = async (stream: SseTestStream) => {
    const seen: string[] = [];
    for (let event = await stream.nextEvent(); event.data !== 'end'; event = await stream.nextEvent())
      seen.push(event.data);
    return seen;
  };

  it("takes the stream's user from the route's user option, after the app's guard, and broadcasts to users only to their streams", async () => {
    const alice = await inbox('t-alice');
    const alice2 = await inbox('t-alice');
    const bob = await inbox('t-bob');
    for (const [stream, user] of [
      [alice, 'alice'],
      [alice2, 'alice'],
      [bob, 'bob'],
    ] as const)
      expect(await stream.nextEvent()).toMatchObject({ event: 'me', data: user });
    expect(
      hub
        .clients('inbox')
        .map((client) => client.user)
        .sort(),
    ).toEqual(['alice', 'alice', 'bob']);
    await hub.broadcast({ event: 'note', data: 'for alice' }, { users: 'alice' });
    await hub.broadcast({ event: 'note', data: 'for bob, in inbox' }, { users: ['bob'], channels: 'inbox' });
    await hub.broadcast({ event: 'note', data: 'for bob, elsewhere' }, { users: 'bob', channels: 'other' });
    await hub.broadcast({ event: 'note', data: 'end' });
    expect(await dataUntilEnd(alice)).toEqual(['for alice']);
    expect(await dataUntilEnd(alice2)).toEqual(['for alice']);
    expect(await dataUntilEnd(bob)).toEqual(['for bob, in inbox']);
  });

  it('answers the guard (401) before the user option runs, and a throw from the user option is the HTTP answer (403)', async () => {
    const none = await open('/users/inbox');
    await none.closed();
    expect(none.status).toBe(401);
    const forbidden = await open('/users/forbidden');
    await forbidden.closed();
    expect(forbidden.status).toBe(403);
    expect(JSON.parse(forbidden.body).message).toBe('not you');
    expect(hub.count()).toBe(0);
  });

  it.each(Object.keys(BAD))(
    'refuses a user option that gives %s with a 500 naming the route and SseUserIdError, with no stream left behind',
    async (kind) => {
      const errors = t.logger.errors().length;
      const refused = await open(`/users/bad/${kind}`);
      await refused.closed();
      expect(refused.status).toBe(500);
      // Nest's answer to an unexpected error: no stack, no message of ours to the client.
      expect(refused.body).not.toMatch(/SseUserIdError|at /);
      const logged = t.logger.errors().slice(errors).join('\n');
      expect(logged).toMatch(/SseUserIdError|cannot be a user id/);
      expect(logged).toContain('/users/bad/:kind');
      expect(hub.count()).toBe(0);
    },
  );

  it('waits for an async user option, and starts nothing for a client that left meanwhile', async () => {
    const plain = await open('/users/async', { 'x-user': 'carol' });
    expect(await plain.nextEvent()).toMatchObject({ event: 'me', data: 'carol' });
    const anonymous = await open('/users/async');
    expect(await anonymous.nextEvent()).toMatchObject({ event: 'me', data: 'null' });

    // A client that goes while its user is looked up.
    const gone = httpRequest(`${t.url}/users/async`, {
      headers: { 'x-gate': 'g1', accept: 'text/event-stream' },
    });
    gone.on('error', () => undefined);
    gone.end();
    await until('the lookup started', () => gated.has('g1'));
    gone.destroy();
    await gated.get('g1');
    const errors = t.logger.errors().length;
    gates.get('g1')!('dave');
    for (let turn = 0; turn < 20; turn++) await nextTurn();
    expect(hub.clients().some((client) => client.user === 'dave')).toBe(false);
    expect(served).not.toContain('dave');
    expect(t.logger.errors().slice(errors)).toEqual([]);
  });

  it('ends a stream whose user closeUser closed while its async user lookup was still running', async () => {
    const early = httpRequest(`${t.url}/users/async`, {
      headers: { 'x-gate': 'g2', accept: 'text/event-stream' },
    });
    const answered = new Promise<IncomingMessage>((resolve) => early.on('response', resolve));
    early.end();
    await until('the lookup started', () => gated.has('g2'));
    // The logout comes while the stream cannot be found yet: it must not open afterwards.
    await hub.closeUser('hank');
    gates.get('g2')!('hank');
    const response = await answered;
    await new Promise((resolve) => response.on('end', resolve).resume());
    expect(hub.clients().some((client) => client.user === 'hank')).toBe(false);
    // Another user's lookup at the same time is not affected.
    const ivy = await open('/users/async', { 'x-user': 'ivy' });
    expect(await ivy.nextEvent()).toMatchObject({ data: 'ivy' });
  });

  it("takes an app's thenable user once, even when it calls back twice", async () => {
    const stream = await open('/users/twice');
    expect(await stream.nextEvent()).toMatchObject({ event: 'me', data: 'tom' });
    expect(hub.clients().map((client) => client.user)).toEqual(['tom']);
  });

  it("counts maxConnectionsPer by user with key 'user': 429 with Retry-After past it, others and anonymous streams not counted", async () => {
    const first = await open('/users/limited', { 'x-user': 'erin' });
    await open('/users/limited', { 'x-user': 'erin' });
    const refused = await open('/users/limited', { 'x-user': 'erin' });
    await refused.closed();
    expect(refused.status).toBe(429);
    expect(refused.headers['retry-after']).toBe('5');
    expect(JSON.parse(refused.body).message).toMatch(/Too many event streams for this user \(limit 2\)/);
    const other = await open('/users/limited', { 'x-user': 'frank' });
    expect(await other.nextEvent()).toMatchObject({ data: 'frank' });
    for (let n = 0; n < 3; n++) expect((await open('/users/limited')).status).toBe(200);
    // A slot comes back once one of erin's streams has ended.
    first.close();
    await until(
      'the first stream ended on the server',
      () => hub.clients().filter((c) => c.user === 'erin').length === 1,
    );
    const again = await open('/users/limited', { 'x-user': 'erin' });
    expect(await again.nextEvent()).toMatchObject({ data: 'erin' });
  });

  it('takes an integer id as its decimal string, the same user for the route, broadcast, presence and closeUser; null as no user', async () => {
    const numeric = await open('/users/numeric', { 'x-id': '42' });
    expect(await numeric.nextEvent()).toMatchObject({ data: '42' });
    const none = await open('/users/numeric');
    expect(await none.nextEvent()).toMatchObject({ data: 'null' });
    await hub.broadcast({ event: 'note', data: 'to 42' }, { users: 42 as any });
    await hub.broadcast({ event: 'note', data: 'to 42n' }, { users: [42n as any] });
    await hub.broadcast({ event: 'note', data: 'end' });
    expect(await dataUntilEnd(numeric)).toEqual(['to 42', 'to 42n']);
    expect(await dataUntilEnd(none)).toEqual([]);
    expect((await hub.presence({ user: 42 as any })).count).toBe(1);
    await hub.closeUser(42 as any);
    await numeric.closed();
  });

  it('refuses user ids no stream can have, with SseUserIdError, and sends nothing', async () => {
    const everyone = await open('/users/async', { 'x-user': 'gina' });
    await everyone.nextEvent();
    for (const users of ['', 'a\0b', '\ud800', 4.2, null, [null], ['ok', ''], {}])
      await expect(hub.broadcast({ event: 'note', data: 'never' }, { users: users as any })).rejects.toThrow(
        SseUserIdError,
      );
    for (const user of ['', 'x\0', NaN, undefined])
      await expect(hub.closeUser(user as any)).rejects.toThrow(SseUserIdError);
    await expect(hub.presence({ user: '' })).rejects.toThrow(SseUserIdError);
    await hub.broadcast({ event: 'note', data: 'end' });
    expect(await dataUntilEnd(everyone)).toEqual([]);
  });

  it('lists presence with each stream’s user, and by user (how many devices), channel, or both', async () => {
    const [a1, a2, b1] = [await inbox('t-alice'), await inbox('t-alice'), await inbox('t-bob')];
    const anonymous = await open('/users/async');
    for (const stream of [a1, a2, b1, anonymous]) await stream.nextEvent();
    const all = await hub.presence();
    expect(all.clients.map((entry) => entry.user ?? null).sort()).toEqual(
      ['alice', 'alice', 'bob', null].sort(),
    );
    const alice = await hub.presence({ user: 'alice' });
    expect(alice.count).toBe(2);
    expect(alice.clients.every((entry) => entry.user === 'alice' && entry.channels.includes('inbox'))).toBe(
      true,
    );
    expect((await hub.presence({ user: 'alice', channel: 'inbox' })).count).toBe(2);
    expect((await hub.presence({ user: 'alice', channel: 'elsewhere' })).count).toBe(0);
    expect((await hub.presence({ channel: 'inbox' })).count).toBe(3);
    expect((await hub.presence('inbox')).count).toBe(3);
    expect((await hub.presence({ user: 'nobody' })).count).toBe(0);
    // A user's streams leave their presence when they end.
    a1.close();
    await until('the stream left', () => hub.clients().filter((c) => c.user === 'alice').length === 1);
    expect((await hub.presence({ user: 'alice' })).count).toBe(1);
  });

  it("ends a user's streams with closeUser, and the app's guard decides whether they come back", async () => {
    const alice = await inbox('t-alice');
    const bob = await inbox('t-bob');
    await alice.nextEvent();
    await bob.nextEvent();
    await hub.closeUser('alice');
    await alice.closed();
    await hub.broadcast({ event: 'note', data: 'end' });
    expect(await dataUntilEnd(bob)).toEqual([]);
    await until('her stream is gone', () => !hub.clients().some((client) => client.user === 'alice'));
  });

  it('calls onMessage only for the streams a broadcast to users is for', async () => {
    const alice = await open('/hooked/events', { 'x-user': 'alice' });
    const bob = await open('/hooked/events', { 'x-user': 'bob' });
    const anonymous = await open('/hooked/events');
    for (const stream of [alice, bob, anonymous]) await stream.nextEvent();
    hooked.length = 0;
    await hub.broadcast({ event: 'note', data: 'for alice' }, { users: 'alice' });
    await hub.broadcast({ event: 'note', data: 'end' });
    expect(await dataUntilEnd(alice)).toEqual(['for alice']);
    expect(await dataUntilEnd(bob)).toEqual([]);
    expect(await dataUntilEnd(anonymous)).toEqual([]);
    expect(hooked.sort()).toEqual(['alice', 'alice', 'anonymous', 'bob']);
  });
});
