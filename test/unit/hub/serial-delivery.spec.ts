import { SerialDelivery } from '../../../src/hub/serial-delivery';

describe('SerialDelivery', () => {
  it('runs a task started by a task after it, and after the tasks already waiting, in order', () => {
    const errors: unknown[] = [];
    const serial = new SerialDelivery((error) => errors.push(error));
    const order: string[] = [];
    serial.run(() => {
      order.push('outer start');
      serial.run(() => {
        order.push('first nested');
        serial.run(() => order.push('nested in nested'));
      });
      serial.run(() => order.push('second nested'));
      order.push('outer end');
    });
    expect(order).toEqual(['outer start', 'outer end', 'first nested', 'second nested', 'nested in nested']);
    expect(errors).toEqual([]);
  });

  it('reports a task that throws and still runs the ones queued after it; the next run starts afresh', () => {
    const errors: unknown[] = [];
    const serial = new SerialDelivery((error) => errors.push(error));
    const order: string[] = [];
    const boom = new Error('boom');
    serial.run(() => {
      serial.run(() => {
        throw boom;
      });
      serial.run(() => order.push('after the throw'));
      throw boom;
    });
    expect(errors).toEqual([boom, boom]);
    expect(order).toEqual(['after the throw']);
    // Not stuck in "running": a later task runs at once.
    serial.run(() => order.push('later'));
    expect(order).toEqual(['after the throw', 'later']);
  });
});
