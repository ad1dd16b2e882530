import { parseDuration } from '../api/duration.js';
import { CliError } from './exit.js';

/** A duration flag such as `--timeout 30s`; a bare number is taken as seconds. */
export function durationFlag(flag: string, text: string): number {
  const ms = /^\d+(\.\d+)?$/.test(text) ? Number(text) * 1000 : parseDuration(text);
  if (ms === undefined || ms <= 0) {
    throw new CliError(`--${flag} ${JSON.stringify(text)} is not a duration; use e.g. 30s, 5m or 1h30m`);
  }
  return ms;
}
