// Shows a demo stage as it happens: on a terminal one block redrawn in place; elsewhere (CI logs, pipes)
// one line per change, so the output reads top to bottom.
import { type DemoFrame, describeStatus, formatStatusLine, renderFrame } from './render.js';

export interface LiveView {
  /** A permanent line, printed above the live block. */
  note(text: string): void;
  /** The latest state of the current stage. */
  show(frame: DemoFrame): void;
  /** Leaves the current block on screen as it is; the next `show` starts a new one. */
  finishStage(): void;
  close(): void;
}

export interface OutputStream {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

const ERASE_BELOW = '\u001b[0J';
const HIDE_CURSOR = '\u001b[?25l';
const SHOW_CURSOR = '\u001b[?25h';
const up = (lines: number) => (lines > 0 ? `\u001b[${lines}F` : '\r');

export function createLiveView(out: OutputStream, options: { redrawMs?: number } = {}): LiveView {
  return out.isTTY ? terminalView(out, options.redrawMs ?? 250) : lineView(out);
}

function lineView(out: OutputStream): LiveView {
  let last: string | undefined;
  return {
    note: (text) => out.write(`${text}\n`),
    show(frame) {
      const key = describeStatus(frame.status, frame.totalSteps, frame.evidenceLimit);
      if (key === last) return;
      last = key;
      out.write(
        `${formatStatusLine(frame.status, frame.totalSteps, frame.elapsedMs, frame.evidenceLimit)}\n`,
      );
    },
    // An unchanged status is not printed again when the next stage starts with it.
    finishStage: () => undefined,
    close: () => undefined,
  };
}

function terminalView(out: OutputStream, redrawMs: number): LiveView {
  let frame: DemoFrame | undefined;
  let frameShownAt = 0;
  let drawnLines = 0;
  let closed = false;
  const draw = () => {
    if (!frame || closed) return;
    // Elapsed time keeps ticking between status changes.
    const current = { ...frame, elapsedMs: frame.elapsedMs + (Date.now() - frameShownAt) };
    const lines = renderFrame(current, { width: (out.columns || 100) - 1, color: true });
    out.write(`${up(drawnLines)}${ERASE_BELOW}${lines.join('\n')}\n`);
    drawnLines = lines.length;
  };
  const timer = setInterval(draw, redrawMs);
  timer.unref();
  out.write(HIDE_CURSOR);
  return {
    note(text) {
      if (closed) {
        out.write(`${text}\n`);
        return;
      }
      out.write(`${up(drawnLines)}${ERASE_BELOW}${text}\n`);
      drawnLines = 0;
      draw();
    },
    show(next) {
      frame = next;
      frameShownAt = Date.now();
      draw();
    },
    finishStage() {
      draw();
      frame = undefined;
      drawnLines = 0;
    },
    close() {
      if (closed) return;
      closed = true;
      clearInterval(timer);
      out.write(SHOW_CURSOR);
    },
  };
}
