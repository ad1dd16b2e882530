// What `npm run demo` and `stepwise sandbox` started, stopped once, in reverse order, whichever way they end
// (done, Ctrl-C, SIGTERM, SIGHUP, an error halfway through starting).
import { rmSync } from 'node:fs';
import type { ControllerProcess } from './controller-process.js';
import type { SandboxStack } from './stack.js';

const CONTROLLER_GRACE_MS = 5_000;

export class RunningSandbox {
  controller: ControllerProcess | undefined;
  stopping = false;
  private started: Promise<SandboxStack> | undefined;
  private stackDir: string | undefined;
  private readonly cleanups: (() => unknown)[] = [];
  private stopped: Promise<void> | undefined;
  private done = false;

  constructor() {
    // Exiting before stop() finished (a second Ctrl-C, or a signal sent to the pid and its group at once): no
    // controller or temp folder may outlive the process. Prometheus's own launcher does the same for Prometheus.
    process.once('exit', () => {
      if (this.done) return;
      this.controller?.child.kill('SIGKILL');
      if (this.stackDir) rmSync(this.stackDir, { recursive: true, force: true });
    });
  }

  get stack(): Promise<SandboxStack> | undefined {
    return this.started;
  }

  set stack(starting: Promise<SandboxStack> | undefined) {
    this.started = starting;
    starting?.then(
      (stack) => (this.stackDir = stack.dir),
      () => undefined,
    );
  }

  /** Runs `cleanup` at stop, before the controller and the stack are stopped. */
  onStop(cleanup: () => unknown): void {
    this.cleanups.push(cleanup);
  }

  stop(): Promise<void> {
    this.stopping = true;
    this.stopped ??= (async () => {
      for (const cleanup of this.cleanups.reverse()) await Promise.resolve(cleanup()).catch(() => undefined);
      if (this.controller) {
        const controller = this.controller;
        const kill = setTimeout(() => controller.child.kill('SIGKILL'), CONTROLLER_GRACE_MS);
        await controller.kill('SIGTERM');
        clearTimeout(kill);
      }
      const stack = await this.started?.catch(() => undefined);
      await stack?.close();
      this.done = true;
    })();
    return this.stopped;
  }
}
