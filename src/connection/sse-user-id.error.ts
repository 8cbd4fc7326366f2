import { unstorable } from './sse-channel-name.error';

/**
 * A user id that cannot be used: not a string (nor an integer, taken as its decimal
 * string), empty, or one that no transport can store as it is (NUL, a lone surrogate). From a route's `user` option it fails the request
 * (500, naming the route: the id comes from the app's own code); from
 * `SseHub.broadcast({ users })`, `closeUser` or `presence({ user })` it rejects, and
 * nothing is sent.
 *
 * @publicApi
 */
export class SseUserIdError extends TypeError {
  /** Its class name, as logs and stack traces show it. */
  override readonly name = 'SseUserIdError';

  constructor(
    /** What was given as the user id. */
    readonly user: unknown,
    /** Where it was given: `SseHub.broadcast`, or the route, as `GET /inbox`. */
    readonly where: string,
    reason: string,
  ) {
    super(
      `${where}: ${shown(user)} cannot be a user id: ${reason}. Give a non-empty string ` +
        'without NUL or lone surrogates, or an integer id.',
    );
  }
}

function shown(value: unknown): string {
  if (typeof value === 'bigint') return `${value}n`;
  try {
    const text = JSON.stringify(value);
    if (text !== undefined) return text.length > 100 ? `${text.slice(0, 100)}…` : text;
  } catch {
    // A cycle: its type says enough.
  }
  return typeof value;
}

/**
 * `user` as a user id: a string as it is, an integer (a database's numeric id, a `bigint`)
 * as its decimal string, so that `42` and `'42'` are one user; else throws
 * `SseUserIdError` saying `where` it came from.
 */
export function checkUserId(user: unknown, where: string): string {
  if (typeof user === 'bigint' || Number.isSafeInteger(user)) return String(user);
  if (typeof user === 'number')
    throw new SseUserIdError(user, where, 'a number that is not a safe integer is no id');
  if (typeof user !== 'string')
    throw new SseUserIdError(user, where, `it is ${user === null ? 'null' : typeof user}, not a string`);
  if (user === '') throw new SseUserIdError(user, where, 'it is empty');
  if (user.length > MAX_USER_ID_LENGTH)
    throw new SseUserIdError(user, where, `it is longer than ${MAX_USER_ID_LENGTH} characters`);
  const reason = unstorable(user);
  if (reason !== undefined) throw new SseUserIdError(user, where, reason);
  return user;
}

/** The longest user id: it is stored with each stream's presence and each broadcast to it. */
const MAX_USER_ID_LENGTH = 1024;

/** `users` (one id or a list of them) as a list of checked ids; a `TypeError` for anything else. */
export function userList(users: unknown, where: string): string[] {
  // A String object is one id, never a list of its characters.
  if (typeof users !== 'object' || users === null || users instanceof String)
    return [checkUserId(users instanceof String ? users.valueOf() : users, where)];
  if (typeof (users as Partial<Iterable<unknown>>)[Symbol.iterator] !== 'function')
    throw new SseUserIdError(users, where, 'users must be a user id or a list of them');
  return Array.from(users as Iterable<unknown>, (user) => checkUserId(user, where));
}
