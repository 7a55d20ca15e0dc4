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
