import { ServerAddress } from '../../../src/transport-kit';

describe('ServerAddress', () => {
  it.each([
    [
      'postgres://app:secret@db.internal:6432/orders?password=other&sslmode=require',
      'postgres://app@db.internal:6432/orders',
    ],
    ['postgresql://app@db/orders', 'postgresql://app@db:5432/orders'],
    ['redis://:pw@cache:6380', 'redis://cache:6380'],
    ['rediss://user:pw@cache/2?password=x', 'rediss://user@cache:6379/2'],
    ['redis://[::1]:6379', 'redis://[::1]:6379'],
    ['host=db password=secret', '(an address that is not a URL)'],
  ])('names %s as %s: no password, no query', (url, expected) => {
    expect(new ServerAddress(url).text).toBe(expected);
  });

  it('names a server a driver resolved from a config object', () => {
    expect(
      new ServerAddress({ scheme: 'postgres', user: 'app', host: '10.0.0.5', port: 5433, database: 'orders' })
        .text,
    ).toBe('postgres://app@10.0.0.5:5433/orders');
    expect(new ServerAddress({ scheme: 'postgres', host: '::1', port: 5432, database: 'x' }).text).toBe(
      'postgres://[::1]:5432/x',
    );
  });

  it('scrubs every password it was given, as written and decoded, from what a driver says', () => {
    const encoded = encodeURIComponent('p@ss/w:rd?');
    const address = new ServerAddress(`postgres://app:${encoded}@db/x?sslpassword=ssl-secret`, [
      { password: 'field-secret', ssl: { passphrase: 'key-secret' } },
      undefined,
      'not a url',
    ]);
    const said = `failed for postgres://app:${encoded}@db (p@ss/w:rd?) with field-secret, key-secret and ssl-secret`;
    const scrubbed = address.scrub(said);
    for (const secret of [encoded, 'p@ss/w:rd?', 'field-secret', 'key-secret', 'ssl-secret'])
      expect(scrubbed).not.toContain(secret);
    expect(scrubbed).toContain('failed for postgres://app:***@db');
  });

  it('returns an error that carries no secret as it is, and a copy (name, code, message, stack) of one that does', () => {
    const address = new ServerAddress('redis://:hunter2@cache:6379');
    const clean = new Error('connect ECONNREFUSED 127.0.0.1:6379');
    expect(address.scrubError(clean)).toBe(clean);
    const leaking = Object.assign(new TypeError('bad password hunter2'), { code: 'EAUTH' });
    const copy = address.scrubError(leaking) as Error & { code?: string };
    expect(copy).not.toBe(leaking);
    expect([copy.name, copy.code, copy.message]).toEqual(['TypeError', 'EAUTH', 'bad password ***']);
    expect(copy.stack).not.toContain('hunter2');
  });
});
