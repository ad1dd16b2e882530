// When each key of the work queue is due to be looked at again, behind one timer for all of them: 10,000
// Rollouts waiting for their re-check cost one heap entry each, not one Node.js timer and closure each.

interface Entry {
  at: number;
  /** Keys due at the same time wake in the order they were set, as Node.js timers do. */
  order: number;
  key: string;
}

const before = (a: Entry, b: Entry) => a.at < b.at || (a.at === b.at && a.order < b.order);

/** A min-heap of wake-up times; an entry whose key was re-timed or cancelled since is skipped when it comes up. */
export class WakeUps {
  private readonly due = new Map<string, number>();
  private readonly heap: Entry[] = [];
  private order = 0;
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Infinity;

  constructor(private readonly wake: (key: string) => void) {}

  /** The key's wake-up time, if one is set. */
  at(key: string): number | undefined {
    return this.due.get(key);
  }

  set(key: string, at: number): void {
    this.due.set(key, at);
    this.push({ at, order: this.order++, key });
    if (at < this.timerAt) this.arm(at);
  }

  cancel(key: string): void {
    this.due.delete(key);
  }

  clear(): void {
    this.due.clear();
    this.heap.length = 0;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Infinity;
  }

  private arm(at: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => this.fire(), Math.max(0, at - Date.now()));
    this.timer.unref?.();
  }

  private fire(): void {
    this.timer = undefined;
    this.timerAt = Infinity;
    const now = Date.now();
    while (this.heap.length > 0 && this.heap[0]!.at <= now) {
      const { at, key } = this.pop();
      if (this.due.get(key) !== at) continue;
      this.due.delete(key);
      this.wake(key);
    }
    if (this.heap.length > 0) this.arm(this.heap[0]!.at);
  }

  private push(entry: Entry): void {
    const heap = this.heap;
    heap.push(entry);
    for (let i = heap.length - 1; i > 0;) {
      const parent = (i - 1) >> 1;
      if (!before(heap[i]!, heap[parent]!)) break;
      [heap[parent], heap[i]] = [heap[i]!, heap[parent]!];
      i = parent;
    }
  }

  private pop(): Entry {
    const heap = this.heap;
    const top = heap[0]!;
    const last = heap.pop()!;
    if (heap.length > 0) {
      heap[0] = last;
      for (let i = 0; ;) {
        const left = 2 * i + 1;
        const right = left + 1;
        let least = i;
        if (left < heap.length && before(heap[left]!, heap[least]!)) least = left;
        if (right < heap.length && before(heap[right]!, heap[least]!)) least = right;
        if (least === i) break;
        [heap[least], heap[i]] = [heap[i]!, heap[least]!];
        i = least;
      }
    }
    return top;
  }
}
