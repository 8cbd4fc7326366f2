import { type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { randomUUID } from 'node:crypto';
import { Controller, RequestMethod } from '@nestjs/common';
import { SseHub, SseRoute, type SseTransport } from 'nestjs-sse-hub';
import { RedisStreamsTransport } from 'nestjs-sse-hub/redis';
import { openSseStream, type SseTestEvent, type SseTestStream } from 'nestjs-sse-hub/testing';
import { spawnInstance, within } from './support/instance-process';
import { findRedisServer, RedisServer } from './support/redis-server';
import { startApp, type TestApp } from './support/start-app';

// The same routes as test/e2e/support/instance.child.js: that one produces; this one reads.
@Controller('r')
class RunReaderController {
  @SseRoute(':id', {
    method: RequestMethod.POST,
    keepAlive: false,
    resumable: { key: (req) => `run:${req.params.id}` },
  })
  start() {
    throw new Error('the run is produced by the child instance, never here');
  }

  @SseRoute(':id', { keepAlive: false, resumable: { key: (req) => `run:${req.params.id}`, create: false } })
  resume() {}
}

const redisServer = findRedisServer();
if (!redisServer && process.env.CI)
  throw new Error(
    'redis-server is missing and CI needs it: run `npm test` as root so ensure-tools.sh installs it.',
  );

const LEASE = 1000;

(redisServer ? describe : describe.skip)(
  "a run across its instance's death (Redis, killed with SIGKILL)",
  () => {
    let redis: RedisServer;
    const apps: TestApp[] = [];
    const streams: SseTestStream[] = [];
    const children: ChildProcess[] = [];
    beforeAll(async () => (redis = await RedisServer.start(redisServer)));
    afterAll(() => redis?.stop());
    afterEach(async () => {
      for (const stream of streams.splice(0)) stream.close();
      for (const app of apps.splice(0)) await app.app.close();
      for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
    });

    const open = async (base: string, path: string, method = 'GET', lastEventId?: string) => {
      const stream = await openSseStream(base, path, {
        method,
        headers: lastEventId ? { 'last-event-id': lastEventId } : {},
        timeout: 15_000,
      });
      streams.push(stream);
      return stream;
    };
    const rest = async (stream: SseTestStream) => {
      const events: SseTestEvent[] = [];
      for await (const event of stream) events.push(event);
      return events;
    };

    it('readers elsewhere get event: error and the end once its lease runs out; a reader of the dead one resumes on another', async () => {
      const stream = `runs-${randomUUID().slice(0, 8)}`;
      const child = await spawnInstance({
        REDIS_URL: redis.url,
        STREAM: stream,
        PRESENCE_TTL: String(LEASE),
      });
      children.push(child.child);
      const transport: SseTransport = new RedisStreamsTransport({
        url: redis.url,
        stream,
        presenceTtl: LEASE,
      });
      const b = await startApp({ controllers: [RunReaderController] }, { transport });
      apps.push(b);
      await (transport as RedisStreamsTransport).ready();
      const hub = b.app.get(SseHub);

      const onChild = await open(child.url, '/r/1', 'POST');
      const seen = await onChild.take(3);
      const onB = await open(b.url, '/r/1');
      expect((await onB.nextEvent()).data).toBe('1');
      child.child.kill('SIGKILL');
      await once(child.child, 'exit');
      const tail = await rest(onB);
      // Ticks up to the death, each once and in order, then the error, then the end.
      expect(tail.at(-1)!.event).toBe('error');
      const ticks = tail.slice(0, -1).map((event) => Number(event.data));
      expect(ticks).toEqual(ticks.map((_, i) => i + 2));
      expect((await hub.runStatus('run:1'))?.status).toBe('failed');
      // The client of the dead instance comes back to B after its first event: the rest, then the
      // error, as B's own reader got them. (With the run's last id it would get a 204: nothing is left.)
      const back = await rest(await open(b.url, '/r/1', 'GET', seen[0].id));
      expect(back.map((event) => [event.id, event.event, event.data])).toEqual(
        tail.map((event) => [event.id, event.event, event.data]),
      );
      // A request that would start it again joins the failed run while it is kept: the handler never runs here.
      const joined = await rest(await open(b.url, '/r/1', 'POST'));
      expect(joined.at(-1)!.event).toBe('error');
    }, 30_000);

    it("a dead instance's run reads as failed within its lease", async () => {
      const stream = `runs-${randomUUID().slice(0, 8)}`;
      const child = await spawnInstance({
        REDIS_URL: redis.url,
        STREAM: stream,
        PRESENCE_TTL: String(LEASE),
      });
      children.push(child.child);
      const transport = new RedisStreamsTransport({ url: redis.url, stream, presenceTtl: LEASE });
      const b = await startApp({ controllers: [RunReaderController] }, { transport });
      apps.push(b);
      await transport.ready();
      const hub = b.app.get(SseHub);
      const starter = await open(child.url, '/r/2', 'POST');
      await starter.take(2);
      child.child.kill('SIGKILL');
      await once(child.child, 'exit');
      // Its lease (1 s) from the last renewal, with room for a loaded machine: within() fails past it.
      await within(
        LEASE * 5,
        'the run reads as failed',
        async () => (await hub.runStatus('run:2'))?.status === 'failed',
      );
    }, 30_000);
  },
);
