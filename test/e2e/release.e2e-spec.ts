import { Controller, Req } from '@nestjs/common';
import { IncomingMessage } from 'node:http';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { SseClient, type SseCloseReason, type SseGateway, SseRoute } from 'nestjs-sse-hub';
import { type SseTestStream } from 'nestjs-sse-hub/testing';
import { drop, rawRequest, readResponseHead, readUntil } from './support/raw-http';
import { eventually, http1Kinds, KindApp, type ServerKind, serverKinds } from './support/server-kinds';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Node's request under each stream, by client id, seen while the stream was set up. */
const nodeRequests = new Map<string, WeakRef<IncomingMessage>>();
/** The framework's request of each stream as `onJoin` saw it (weakly: the test must not keep it). */
const setupRequests = new Map<string, WeakRef<object>>();
const closes: Array<[string, SseCloseReason]> = [];
const heardByApp: string[] = [];
let counted = 0;

function nodeRequestOf(request: any): IncomingMessage {
  return request.raw ?? request;
}

@Controller('rel')
class ReleaseController implements SseGateway {
  @SseRoute('events', { keepAlive: false })
  events() {}

  @SseRoute('all', { keepAlive: false, keepRequest: 'all' })
  all() {}

  @SseRoute('some', { keepAlive: false, keepRequest: ['query', 'missing'] })
  some() {}

  /** An app that listens on Node's request itself, as plain Node SSE code does. */
  @SseRoute('listened', { keepAlive: false })
  listened(@Req() request: any) {
    nodeRequestOf(request).on('close', () => heardByApp.push(request.url));
  }

  @SseRoute('counted', { keepAlive: false })
  counted() {
    counted++;
  }

  onJoin(client: SseClient) {
    nodeRequests.set(client.id, new WeakRef(nodeRequestOf(client.request)));
    setupRequests.set(client.id, new WeakRef(client.request));
    return { event: 'hello', data: client.id };
  }

  onClose(client: SseClient, reason: SseCloseReason) {
    closes.push([client.id, reason]);
  }
}

/** Collects garbage until `ref` is gone, or says it is still held after a few full collections. */
async function collected(ref: WeakRef<object>): Promise<boolean> {
  for (let i = 0; i < 10; i++) {
    // A WeakRef's target lives at least to the end of the current job: collect in a later one.
    await new Promise((resolve) => setImmediate(resolve));
    gc();
    if (ref.deref() === undefined) return true;
  }
  return false;
}

describe.each(serverKinds())(
  'a started stream lets go of the HTTP machinery, on a %s server',
  (kind: ServerKind) => {
    let t: KindApp;
    const opened: SseTestStream[] = [];
    const http1 = http1Kinds().includes(kind);

    async function open(path: string) {
      const stream = await t.open(path);
      opened.push(stream);
      const id = (await stream.nextEvent()).data;
      return { stream, id, client: t.hub.clients().find((client) => client.id === id)! };
    }

    beforeAll(async () => {
      t = await KindApp.start(kind, { controllers: [ReleaseController] });
    });
    afterAll(() => t.close());
    afterEach(async () => {
      for (const stream of opened.splice(0)) stream.close();
      await eventually(() => t.hub.count() === 0, 'every stream ended');
      expect(t.logger.errors()).toEqual([]);
    });

    it('client.request keeps what routes read of the request (a plain object), and Node’s request is collected', async () => {
      const { id, client, stream } = await open('/rel/events?room=a');
      expect(setupRequests.get(id)!.deref()).not.toBe(client.request);
      expect(Object.getPrototypeOf(client.request)).toBe(Object.prototype);
      expect(client.request).toMatchObject({
        method: 'GET',
        url: '/rel/events?room=a',
        query: { room: 'a' },
        headers: expect.objectContaining({ accept: 'text/event-stream' }),
      });
      expect(
        Object.keys(client.request).every((name) =>
          ['method', 'url', 'originalUrl', 'headers', 'params', 'query', 'user'].includes(name),
        ),
      ).toBe(true);
      // HTTP/2 writes through the response, which holds the request; HTTP/1.1 lets both go.
      if (http1) expect(await collected(nodeRequests.get(id)!)).toBe(true);
      await t.hub.broadcast('after the release');
      expect((await stream.nextEvent()).data).toBe('after the release');
    });

    it("keepRequest: 'all' keeps the framework's request itself, a list keeps only those of its properties", async () => {
      const all = await open('/rel/all?room=b');
      expect(all.client.request).toBe(setupRequests.get(all.id)!.deref());
      const some = await open('/rel/some?room=c');
      expect(some.client.request).toEqual({ query: { room: 'c' } });
    });

    it('an app listening on Node’s request still hears the client go', async () => {
      const { stream, id } = await open('/rel/listened');
      stream.close();
      await eventually(() => heardByApp.includes('/rel/listened'), 'the app heard the request close');
      await eventually(() => closes.some(([closed]) => closed === id), 'the stream ended');
    });

    if (http1) {
      it('a client that hangs up its side ends the stream, and the socket closes', async () => {
        const socket = await t.connect();
        socket.write(rawRequest('GET', '/rel/events'));
        const head = await readResponseHead(socket);
        expect(head.status).toBe(200);
        const text = await readUntil(socket, (read) => read.includes('event: hello'), head.rest);
        const id = /data: (.+)\n/.exec(text)![1];
        const socketClosed = new Promise((resolve) => socket.once('close', resolve));
        socket.end();
        await eventually(() => closes.some(([closed]) => closed === id), 'the stream ended');
        expect(closes.find(([closed]) => closed === id)![1]).toBe('client-disconnected');
        await socketClosed;
        await eventually(async () => (await t.connections()) === 0, 'the server holds no connection');
      });

      it('bytes sent after the request are never served, and the stream goes on', async () => {
        const socket = await t.connect();
        socket.write(rawRequest('GET', '/rel/events'));
        const head = await readResponseHead(socket);
        let text = await readUntil(socket, (read) => read.includes('event: hello'), head.rest);
        socket.write(rawRequest('GET', '/rel/counted') + 'garbage\r\n\r\n');
        // A round trip on the same connection: what the server read before it is behind us.
        await t.hub.broadcast('one');
        text = await readUntil(socket, (read) => read.includes('data: one'), text);
        await t.hub.broadcast('two');
        text = await readUntil(socket, (read) => read.includes('data: two'), text);
        expect(counted).toBe(0);
        expect(text).not.toContain('HTTP/1.1 400');
        expect(t.hub.count()).toBe(1);
        drop(socket);
      });

      it('a client that keeps sending after its request is cut off, rather than read for nothing', async () => {
        const socket = await t.connect();
        socket.write(rawRequest('GET', '/rel/events'));
        const head = await readResponseHead(socket);
        const text = await readUntil(socket, (read) => read.includes('event: hello'), head.rest);
        const id = /data: (.+)\n/.exec(text)![1];
        const closed = new Promise((resolve) => socket.once('close', resolve));
        // Past what a few pipelined requests take, in pieces, as a flood would come.
        for (let i = 0; i < 40 && !socket.destroyed; i++) socket.write('x'.repeat(4096));
        await closed;
        await eventually(() => closes.some(([closed]) => closed === id), 'the stream ended');
        expect(closes.find(([closed]) => closed === id)![1]).toBe('client-disconnected');
      });

      it("the server's closeAllConnections() and server.timeout reach released streams as they reach Node's own", async () => {
        const { id } = await open('/rel/events');
        t.server.closeAllConnections();
        await eventually(
          () => closes.some(([closed]) => closed === id),
          'closeAllConnections ended the stream',
        );
        // server.timeout applies to connections made after it is set, as Node applies it.
        t.server.timeout = 1000;
        try {
          const idle = await open('/rel/events');
          // No keepalive on this route: the socket idles, and Node's timeout drops it.
          await eventually(
            () => closes.some(([closed]) => closed === idle.id),
            'server.timeout ended the idle stream',
          );
        } finally {
          t.server.timeout = 0;
        }
      });
    }
  },
);
