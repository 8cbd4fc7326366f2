/** `value`, if it is a positive integer; else a `TypeError` that names the transport (`owner`) and the option. */
export function positiveInteger(owner: string, name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value <= 0)
    throw new TypeError(`${owner}: ${name} must be a positive integer, got ${String(value)}.`);
  return value;
}
