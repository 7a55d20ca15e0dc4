import pino, { type Logger } from 'pino';
import type { LogLevel } from './config.js';

export type { Logger };

/** Paths never written to logs, whatever the level. */
const REDACT = [
  'req.headers.authorization',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
  '*.password',
  '*.secret',
  '*.key',
];

/** JSON logs on stdout (or `destination`), with credentials redacted. */
export function createLogger(level: LogLevel, destination?: pino.DestinationStream): Logger {
  const options: pino.LoggerOptions = {
    level,
    base: { service: 'callhook' },
    redact: { paths: REDACT, censor: '••••' },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return destination === undefined ? pino(options) : pino(options, destination);
}

/**
 * A step that keeps failing while the store is down (a worker's claim, a runner's poll: several
 * times a second) is logged once per outage: its first failure at `level`, the next ones at
 * `debug`, and the first success after them at `info`, with how many failed.
 *
 * ### Example
 * ```ts
 * const claims = new FailureStreak(logger, 'claiming deliveries', { worker: id });
 * try { await claim(); claims.succeeded(); } catch (error) { claims.failed(error); }
 * // → error "claiming deliveries failed" once, … info "claiming deliveries works again"
 * ```
 */
export class FailureStreak {
  private failures = 0;

  constructor(
    private readonly logger: Logger | undefined,
    private readonly what: string,
    private readonly fields: Record<string, unknown> = {},
    private readonly level: 'error' | 'warn' = 'error',
  ) {}

  failed(error: unknown): void {
    this.failures += 1;
    if (this.failures === 1)
      this.logger?.[this.level]({ ...this.fields, err: error }, `${this.what} failed`);
    else
      this.logger?.debug(
        { ...this.fields, err: error, failures: this.failures },
        `${this.what} failed again`,
      );
  }

  succeeded(): void {
    if (this.failures === 0) return;
    this.logger?.info({ ...this.fields, failures: this.failures }, `${this.what} works again`);
    this.failures = 0;
  }
}
