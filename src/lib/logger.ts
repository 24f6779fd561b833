// The logger options of the server and the worker: level, redaction, pretty output on a terminal.
import type { FastifyServerOptions } from 'fastify';
import type { Config } from '../config.js';
import { scrub, scrubDeep } from './redact.js';

export function loggerOptions(config: Config, pretty: boolean): FastifyServerOptions['logger'] {
  return {
    level: config.logLevel,
    redact: { paths: ['req.headers.authorization', 'req.headers.cookie', 'headers.authorization', 'headers.cookie'], censor: '[redacted]' },
    // Every line, whoever writes it (a plugin logging a request's headers at trace, an
    // error's message quoting a query's parameters): no whole CPF, token, secret or cookie
    // (CONTRACT §9), not only the paths above.
    formatters: { log: (object: Record<string, unknown>) => scrubDeep(object) as Record<string, unknown> },
    hooks: {
      logMethod(args: unknown[], method: (...args: unknown[]) => void) {
        method.apply(this, args.map((arg) => (typeof arg === 'string' ? scrub(arg) : arg)));
      },
    },
    ...(pretty ? { transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' } } } : {}),
  };
}
