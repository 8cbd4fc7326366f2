import { Controller } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { createClient, createCluster } from 'redis';
import { type SseClient, type SseGateway, SseHub, SseRoute } from 'nestjs-sse-hub';
import { type RedisClusterClient, RedisStreamsTransport } from 'nestjs-sse-hub/redis';
import { openSseStream, type SseTestStream } from 'nestjs-sse-hub/testing';
import { RedisCluster } from './support/redis-cluster';
import { broadcastTaken, findRedisServer } from './support/redis-server';
import { startApp, type TestApp } from './support/start-app';

@Controller('c')
class ClusterRoomsController implements SseGateway {
  @SseRoute(':room/events', { channels: (req) => [req.params.room], keepAlive: false, presence: (client) => client.request.query.user ?? null })
  events() {}

  onJoin(client: SseClient) {
    return { event: 'hello', data: client.id };
  }
}

const redisServer = findRedisServer();
const CAN_RUN = redisServer !== undefined;
if (!CAN_RUN && process.env.CI) throw new Error('redis-server is missing and CI needs it: run `npm test` as root so test/support/ensure-tools.sh can install it.');

interface Instance extends TestApp {
  hub: SseHub;
}

(CAN_RUN ? describe : describe.skip)('RedisStreamsTransport on a real 3-master Redis Cluster (createCluster)', () => {
  let cluster: RedisCluster;
  const apps: Instance[] = [];
  const clusterClients: RedisClusterClient[] = [];
  const streams: SseTestStream[] = [];

  const start = async (stream: string) => {
    // The app's own cluster client, as a user passes it; the transport leaves it open.
    const client = createCluster({ rootNodes: cluster.rootNodes, defaults: { disableOfflineQueue: true } });
    clusterClients.push(client);
    const transport = new RedisStreamsTransport({ client, stream });
    const app = await startApp({ controllers: [ClusterRoomsController] }, { transport });
    await transport.ready();
    const instance = { ...app, hub: app.app.get(SseHub) };
    apps.push(instance);
    return instance;
  };
  const join = async (on: Instance, room: string, headers: Record<string, string> = {}) => {
    const stream = await openSseStream(on.url, `/c/${room}/events?user=${room}-user`, { headers, timeout: 15_000 });
    streams.push(stream);
    const hello = await stream.nextEvent();
    return { stream, id: hello.data };
  };

  beforeAll(async () => (cluster = await RedisCluster.start(redisServer!)), 120_000);
  afterAll(() => cluster?.stop());
  afterEach(async () => {
    for (const stream of streams.splice(0)) stream.close();
    for (const app of apps.splice(0)) await app.app.close();
    for (const client of clusterClients.splice(0)) if (client.isOpen) client.destroy();
  });

  it('carries broadcasts, channels, sendTo, join, close, replay on another instance and presence', async () => {
    const key = `cluster-${randomUUID()}`;
    const [a, b] = await Promise.all([start(key), start(key)]);
    const onA = await join(a, 'red');
    const onB = await join(b, 'red');
    await a.hub.broadcast({ event: 'news', data: 'one' }, { channels: 'red' });
    await b.hub.broadcast({ event: 'news', data: 'two' });
    for (const s of [onA, onB]) expect((await s.stream.take(2)).map((event) => event.data)).toEqual(['one', 'two']);
    await a.hub.sendTo(onB.id, { event: 'direct', data: 'just you' });
    expect(await onB.stream.nextEvent()).toMatchObject({ event: 'direct', data: 'just you' });
    await a.hub.join(onB.id, 'blue');
    await a.hub.broadcast({ event: 'news', data: 'blue' }, { channels: 'blue' });
    expect((await onB.stream.nextEvent()).data).toBe('blue');
    expect((await a.hub.presence('red')).clients.map((client) => client.info).sort()).toEqual(['red-user', 'red-user']);
    expect((await b.hub.presence('blue')).clients.map((client) => client.id)).toEqual([onB.id]);

    // A's client goes, broadcasts go on, it comes back on B and gets what it missed.
    const last = (await a.hub.broadcast({ event: 'news', data: 'seen' }, { channels: 'red' }), await onA.stream.nextEvent()).id!;
    onA.stream.close();
    for (const data of ['missed 1', 'missed 2']) await b.hub.broadcast({ event: 'news', data }, { channels: 'red' });
    const back = await join(b, 'red', { 'last-event-id': last });
    expect((await back.stream.take(2)).map((event) => event.data)).toEqual(['missed 1', 'missed 2']);

    await a.hub.close(onB.id);
    await onB.stream.closed();
  });

  it('loses nothing that was accepted while the connections to every master are killed, and delivers each event once, in order', async () => {
    const key = `cluster-${randomUUID()}`;
    const [a, b] = await Promise.all([start(key), start(key)]);
    const clients = [await join(a, 'x'), await join(b, 'x')];
    const admins = await Promise.all(cluster.nodes.map((node) => createClient({ url: node.url }).connect()));
    try {
      const sent: string[] = [];
      const cutsAt = new Set([50, 100]);
      for (let n = 0; sent.length < 150 && n < 5000; n++) {
        // CLIENT KILL skips the admin's own connection.
        if (cutsAt.delete(sent.length)) for (const admin of admins) await admin.sendCommand(['CLIENT', 'KILL', 'TYPE', 'normal']);
        const value = String(n);
        const taken = await broadcastTaken((n % 2 ? a : b).hub, { event: 'n', data: value }, 'x');
        if (taken) sent.push(value);
        else await new Promise((resolve) => setTimeout(resolve, 10));
      }
      expect(sent).toHaveLength(150);
      for (const client of clients) expect((await client.stream.take(sent.length)).map((event) => event.data)).toEqual(sent);
    } finally {
      for (const admin of admins) await admin.close();
    }
  });
});
