/**
 * Whether `chunk` is more than `max` bytes of UTF-8, without counting a string's bytes
 * when its length settles it (UTF-8 takes 1 to 3 bytes per UTF-16 unit).
 */
export function exceedsBytes(chunk: string | Uint8Array, max: number): boolean {
  if (typeof chunk !== 'string') return chunk.length > max;
  if (chunk.length > max) return true;
  return chunk.length * 3 > max && Buffer.byteLength(chunk) > max;
}
