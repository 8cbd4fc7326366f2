import { compareEventIds, EventIdGenerator, isEventId } from '../../../src/hub';

describe('hub event ids', () => {
  it('increase within one millisecond and across a clock that steps back', () => {
    const ids = new EventIdGenerator();
    const issued = [ids.next(1000), ids.next(1000), ids.next(999), ids.next(1001)];
    expect(issued).toEqual(['1000-0', '1000-1', '1000-2', '1001-0']);
    for (let i = 1; i < issued.length; i++) expect(compareEventIds(issued[i - 1], issued[i])).toBeLessThan(0);
  });

  it('compare numerically, not as text', () => {
    expect(compareEventIds('9-0', '10-0')).toBeLessThan(0);
    expect(compareEventIds('5-10', '5-9')).toBeGreaterThan(0);
    expect(compareEventIds('5-1', '5-1')).toBe(0);
  });

  it.each(['', '1', '1-', '-1', 'a-1', '1-1-1', ' 1-1', '1-1\n', '1'.repeat(16) + '-1'])(
    'refuse the foreign form %p',
    (id) => {
      expect(isEventId(id)).toBe(false);
    },
  );
});
