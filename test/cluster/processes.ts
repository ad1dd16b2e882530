// One control-plane component as a child process: its output goes to a log file, it is stopped by its PID,
// and waiting for it is bounded, failing with the component's name and the tail of its log.
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
export { freePort } from '../../sandbox/prometheus.js';

export interface Component {
  name: string;
  child: ChildProcess;
  logFile: string;
  /** Resolves once `ready()` is true; rejects when the process exits first or `timeoutMs` passes. */
  waitUntil(ready: () => Promise<boolean>, timeoutMs: number): Promise<void>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
  stop(graceMs?: number): Promise<void>;
}

export function startComponent(name: string, binary: string, args: string[], logFile: string): Component {
  const fd = openSync(logFile, 'a');
  const child = spawn(binary, args, { stdio: ['ignore', fd, fd] });
  closeSync(fd);
  // A test process that dies without stop() (a crash, an interrupted run) takes its components with it.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const exited = new Promise<void>((resolve) =>
    child.once('exit', () => {
      process.off('exit', killOnExit);
      resolve();
    }),
  );
  const running = () => child.exitCode === null && child.signalCode === null;
  const failure = (why: string) =>
    new Error(`${name} ${why}; last lines of ${logFile}:\n${logTail(logFile)}`);
  return {
    name,
    child,
    logFile,
    async waitUntil(ready, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        if (!running()) throw failure(`exited (${child.exitCode ?? child.signalCode}) before it was ready`);
        if (await ready().catch(() => false)) return;
        if (Date.now() > deadline) throw failure(`was not ready within ${timeoutMs / 1000} s`);
        await sleep(100);
      }
    },
    async stop(graceMs = 5_000) {
      if (!running()) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => running() && child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

export function logTail(logFile: string, lines = 15): string {
  if (!existsSync(logFile)) return '(no log)';
  return readFileSync(logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
