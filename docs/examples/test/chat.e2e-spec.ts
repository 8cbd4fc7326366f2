import { type INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { openSseStream } from 'nestjs-sse-hub/testing';
import { AppModule } from '../src/app.module';

describe('the chat room', () => {
  let app: INestApplication;
  let url: string;

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
    app = moduleRef.createNestApplication();
    await app.listen(0, '127.0.0.1');
    url = await app.getUrl();
  });
  afterAll(() => app.close()); // ends the streams still open, so Jest can exit

  const post = (message: object) =>
    fetch(`${url}/rooms/lobby/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(message),
    });

  it('welcomes, keeps private messages private, and replays what a client missed', async () => {
    const ann = await openSseStream(app, '/rooms/lobby/events');
    const bob = await openSseStream(app, '/rooms/lobby/events');
    expect(ann.status).toBe(200);
    expect((await ann.nextEvent()).event).toBe('welcome');
    const bobId = JSON.parse((await bob.nextEvent()).data).id;

    await post({ from: 'ann', to: bobId, text: 'psst' });
    await post({ from: 'ann', text: 'hello all' });
    expect(JSON.parse((await bob.nextEvent()).data).text).toBe('psst');
    const seen = await ann.nextEvent(); // not 'psst': that one was for bob
    expect(JSON.parse(seen.data).text).toBe('hello all');

    ann.close(); // a dropped connection...
    await post({ from: 'bob', text: 'missed it?' });
    const back = await openSseStream(app, '/rooms/lobby/events', { headers: { 'last-event-id': seen.id! } });
    expect((await back.nextEvent()).event).toBe('welcome'); // onJoin first, then what it missed
    expect(JSON.parse((await back.nextEvent()).data).text).toBe('missed it?');
    back.close();
    bob.close();
  });
});
