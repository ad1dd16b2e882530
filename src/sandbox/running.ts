// What `npm run demo` and `stepwise sandbox` started, stopped once, in reverse order, whichever way they end
// (done, Ctrl-C, SIGTERM, SIGHUP, an error halfway through starting).
import type { ControllerProcess } from './controller-process.js';
import type { SandboxStack } from './stack.js';

const CONTROLLER_GRACE_MS = 5_000;

export class RunningSandbox {
  stack: Promise<SandboxStack> | undefined;
  controller: ControllerProcess | undefined;
  stopping = false;
  private readonly cleanups: (() => unknown)[] = [];
  private stopped: Promise<void> | undefined;

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
      const stack = await this.stack?.catch(() => undefined);
      await stack?.close();
    })();
    return this.stopped;
  }
}
