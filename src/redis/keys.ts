/**
 * A key that lives in the stream's hash slot: the stream's own hash tag, or its whole
 * name made one. On a Redis Cluster, a script may only touch keys of one slot, and
 * presence is read and written with the stream's keys.
 */
export function keyBeside(stream: string, suffix: string): string {
  return /\{[^}]+\}/.test(stream) ? `${stream}:${suffix}` : `{${stream}}:${suffix}`;
}
