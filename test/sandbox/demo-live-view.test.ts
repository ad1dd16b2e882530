import { describe, expect, it } from 'vitest';
import type { RolloutStatus } from '../../src/api/status.js';
import { createLiveView } from '../../sandbox/demo/live-view.js';
import type { DemoFrame } from '../../sandbox/demo/render.js';

function recorder(isTTY: boolean) {
  const writes: string[] = [];
  return { writes, out: { isTTY, columns: 100, write: (text: string) => writes.push(text) } };
}

const status = (phase: RolloutStatus['phase'], canaryWeight: number, requests?: number): RolloutStatus => ({
  phase,
  currentStep: canaryWeight ? 1 : 0,
  canaryWeight,
  ...(requests === undefined
    ? {}
    : { analysis: { checks: 1, failed: 0, inconclusive: 0, consecutiveInconclusive: 0, requests } }),
});

const frame = (s: RolloutStatus, elapsedMs: number): DemoFrame => ({
  title: 'Release 1.1.0',
  status: s,
  totalSteps: 4,
  elapsedMs,
  transitions: [],
});

describe('live view without a terminal (CI logs)', () => {
  it('prints one line per change of the status, never the same status twice', () => {
    const { writes, out } = recorder(false);
    const view = createLiveView(out);
    view.show(frame(status('Progressing', 5), 1_000));
    view.show(frame(status('Progressing', 5), 1_500));
    view.show(frame(status('Progressing', 5, 20), 3_000));
    view.finishStage();
    view.show(frame(status('Progressing', 5, 20), 0));
    view.note('✔ done');
    view.close();
    expect(writes).toEqual([
      '[0:01] Progressing · step 1/4 · canary 5%\n',
      '[0:03] Progressing · step 1/4 · canary 5% · requests 20 · error rate - · P99 - · evidence -\n',
      '✔ done\n',
    ]);
    expect(writes.join('')).not.toContain('\u001b');
  });
});

describe('live view on a terminal', () => {
  it('redraws the block in place: moves up over the lines it drew and erases them', () => {
    const { writes, out } = recorder(true);
    const view = createLiveView(out, { redrawMs: 60_000 });
    view.show(frame(status('Progressing', 5), 1_000));
    const firstBlock = writes.at(-1)!;
    const drawnLines = firstBlock.split('\n').length - 1;
    view.show(frame(status('Progressing', 25), 2_000));
    view.close();
    expect(firstBlock).toContain('▶ Release 1.1.0');
    expect(writes.at(-2)!.startsWith(`\u001b[${drawnLines}F\u001b[0J▶ Release 1.1.0`)).toBe(true);
    expect(writes.at(-2)).toContain('25% canary');
  });

  it('prints notes above the block and leaves a finished block on screen', () => {
    const { writes, out } = recorder(true);
    const view = createLiveView(out, { redrawMs: 60_000 });
    view.show(frame(status('Succeeded', 0), 1_000));
    view.finishStage();
    writes.length = 0;
    view.note('✔ Succeeded');
    view.close();
    // Nothing is moved over or erased above the cursor: the finished block stays.
    expect(writes[0]).toBe('\r\u001b[0J✔ Succeeded\n');
  });
});
