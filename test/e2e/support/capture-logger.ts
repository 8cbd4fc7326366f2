import { ConsoleLogger, type LoggerService } from '@nestjs/common';

/** A logger that keeps every line, so tests can assert what the app logged (and did not). */
export class CaptureLogger implements LoggerService {
  readonly lines: Array<{ level: string; message: string; trace?: string }> = [];
  private readonly quiet = new ConsoleLogger();

  log(message: unknown): void {
    this.lines.push({ level: 'log', message: String(message) });
  }
  warn(message: unknown): void {
    this.lines.push({ level: 'warn', message: String(message) });
  }
  error(message: unknown, trace?: string): void {
    this.lines.push({ level: 'error', message: String(message), trace });
    if (process.env.SSE_TEST_VERBOSE) this.quiet.error(message, trace);
  }
  debug(): void {}
  verbose(): void {}

  errors(): string[] {
    return this.lines
      .filter((line) => line.level === 'error')
      .map((line) => `${line.message}\n${line.trace ?? ''}`);
  }

  /** The interceptor owns the response: Nest must never have tried to reply on top of a stream. */
  headersSentErrors(): string[] {
    return this.lines
      .map((line) => `${line.message}\n${line.trace ?? ''}`)
      .filter((text) => /headers already sent|ERR_HTTP_HEADERS_SENT|Cannot set headers/i.test(text));
  }

  /** Everything logged at any level, joined: for "never logged X" assertions. */
  text(): string {
    return this.lines.map((line) => `${line.message}\n${line.trace ?? ''}`).join('\n');
  }
}
