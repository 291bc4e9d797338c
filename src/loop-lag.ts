/**
 * Measures how late a periodic timer fires: the event loop's lag as calls see it.
 * Decays toward the latest sample so one long GC pause does not shed load for long.
 */
export class LoopLag {
  private lag = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly sampleMs = 100) {}

  get ms(): number {
    return this.lag;
  }

  start(): void {
    let expected = Date.now() + this.sampleMs;
    this.timer = setInterval(() => {
      const now = Date.now();
      this.lag = Math.max(0, now - expected);
      expected = now + this.sampleMs;
    }, this.sampleMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
