/** The port a scheme's server listens on when its address names none. */
const DEFAULT_PORTS: Readonly<Record<string, number>> = {
  postgres: 5432,
  postgresql: 5432,
  redis: 6379,
  rediss: 6379,
};
/** Settings that hold a secret, in a config object or a URL's query (node-postgres reads `password` there). */
const SECRET_NAME = /pass/i;
const HIDDEN = '***';

/** A server as a driver resolved it from its config (rather than from a URL). */
export interface ServerParts {
  scheme: string;
  user?: string | null;
  host?: string | null;
  port?: number | string | null;
  database?: string | null;
}

/**
 * Where a transport's server is, for logs, `state()` and errors, and the secrets to keep
 * out of them. The address is `scheme://user@host:port/database`: never a password, and
 * never a query, where drivers read passwords too (`?password=`, `?sslpassword=`). What a
 * driver says is passed through `scrub`, since a driver may quote what it was given.
 */
export class ServerAddress {
  /** `scheme://user@host:port/database`. */
  readonly text: string;
  /** Longest first, so that a secret inside another is not left half there. */
  private readonly secrets: string[];

  /**
   * `secretSources`: the URLs and config objects it was made from, whose passwords are
   * scrubbed wherever a driver repeats them.
   */
  constructor(server: string | ServerParts, secretSources: readonly unknown[] = []) {
    this.text = typeof server === 'string' ? addressOfUrl(server) : format(server);
    const secrets = new Set<string>();
    for (const source of [server, ...secretSources]) collectSecrets(source, secrets);
    secrets.delete('');
    this.secrets = [...secrets].sort((a, b) => b.length - a.length);
  }

  toString(): string {
    return this.text;
  }

  /** `text` with every secret replaced by `***`. */
  scrub(text: string): string {
    let scrubbed = text;
    for (const secret of this.secrets) scrubbed = scrubbed.split(secret).join(HIDDEN);
    return scrubbed;
  }

  /** The error itself when it carries no secret; else a copy (name, code, message, stack) without it. */
  scrubError(error: unknown): unknown {
    if (!(error instanceof Error)) return typeof error === 'string' ? this.scrub(error) : error;
    const { message, stack } = error;
    if (this.scrub(message) === message && (stack === undefined || this.scrub(stack) === stack)) return error;
    const copy = new Error(this.scrub(message));
    copy.name = error.name;
    copy.stack = stack === undefined ? undefined : this.scrub(stack);
    const code = (error as { code?: unknown }).code;
    if (code !== undefined) Object.assign(copy, { code });
    return copy;
  }
}

function addressOfUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    // Not repeated: it may be a password in the wrong place.
    return '(an address that is not a URL)';
  }
  return format({
    scheme: url.protocol.replace(/:$/, ''),
    user: url.username,
    host: url.hostname,
    port: url.port,
    database: url.pathname.replace(/^\//, ''),
  });
}

function format({ scheme, user, host, port, database }: ServerParts): string {
  const shownHost = host?.includes(':') && !host.startsWith('[') ? `[${host}]` : (host ?? 'localhost');
  const shownPort = port === undefined || port === null || port === '' ? DEFAULT_PORTS[scheme] : port;
  const userPart = user ? `${user}@` : '';
  const portPart = shownPort === undefined ? '' : `:${shownPort}`;
  return `${scheme}://${userPart}${shownHost}${portPart}${database ? `/${database}` : ''}`;
}

/**
 * The passwords of a URL (as written and decoded, and its query's) or of a config object
 * (its `password`s, its `ssl`, its `connectionString`).
 */
function collectSecrets(source: unknown, into: Set<string>): void {
  if (typeof source === 'string') {
    let url: URL;
    try {
      url = new URL(source);
    } catch {
      return;
    }
    addWritten(url.password, into);
    for (const [name, value] of url.searchParams) if (SECRET_NAME.test(name)) addDecoded(value, into);
    return;
  }
  if (source === null || typeof source !== 'object') return;
  for (const [name, value] of Object.entries(source)) {
    if (typeof value === 'string' && SECRET_NAME.test(name)) addDecoded(value, into);
    else if (name === 'connectionString' || name === 'url' || name === 'ssl' || name === 'tls')
      collectSecrets(value, into);
  }
}

/** A secret as a URL writes it (percent-encoded), and as it means it. */
function addWritten(written: string, into: Set<string>): void {
  into.add(written);
  try {
    into.add(decodeURIComponent(written));
  } catch {
    // Not valid percent-encoding: only the form as written exists.
  }
}

function addDecoded(value: string, into: Set<string>): void {
  into.add(value);
  into.add(encodeURIComponent(value));
}
