import winston from 'winston';

export type LogFormat = 'json' | 'text';

/** Structured logs: one JSON object per line, with namespace/rollout on every line about a Rollout. */
export function createLogger(
  options: { level?: string; format?: LogFormat; silent?: boolean } = {},
): winston.Logger {
  const line =
    options.format === 'text'
      ? winston.format.printf(({ level, message, timestamp, stack, ...meta }) => {
          const extra = Object.keys(meta).length ? ` ${JSON.stringify(meta)}` : '';
          return `${String(timestamp)} ${level} ${String(message)}${extra}${stack ? `\n${String(stack)}` : ''}`;
        })
      : winston.format.json();
  return winston.createLogger({
    level: options.level ?? 'info',
    silent: options.silent ?? false,
    // errors() must sit on the logger itself for stacks to survive (STYLE.md, winston notes).
    format: winston.format.combine(winston.format.errors({ stack: true }), winston.format.timestamp(), line),
    transports: [new winston.transports.Console({ stderrLevels: ['error', 'warn', 'info', 'debug'] })],
  });
}
