import { encodeResync } from '../../../src/wire/resync-event';

describe('encodeResync', () => {
  it('names the event as the route says, carries the last id the client got (null for none), and no id of its own', () => {
    expect(encodeResync('resync', '1700000000000-3')).toBe(
      'event: resync\ndata: {"lastEventId":"1700000000000-3"}\n\n',
    );
    expect(encodeResync('start-over', undefined)).toBe('event: start-over\ndata: {"lastEventId":null}\n\n');
  });

  it('says how many events were dropped when that is known', () => {
    expect(encodeResync('resync', '1700000000000-3', 2)).toBe(
      'event: resync\ndata: {"lastEventId":"1700000000000-3","dropped":2}\n\n',
    );
  });
});
