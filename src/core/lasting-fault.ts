/**
 * A fault that lasts (the store unreachable, drachtio-server down, the IPBX
 * refusing REGISTER) fails on every retry. Logging each failure buries
 * everything else under one line a second; logging none hides it. This says
 * when a failure is worth a line: when the fault starts, every `remindEveryMs`
 * while it lasts, and once when it ends, with how long and how many failures.
 */
export type FaultReport =
  | { readonly kind: 'started' }
  | { readonly kind: 'lasting'; readonly forMs: number; readonly failures: number }
  | { readonly kind: 'ended'; readonly lastedMs: number; readonly failures: number };

export class LastingFault {
  private since: number | null = null;
  private lastReportAt = 0;
  private failures = 0;

  constructor(private readonly remindEveryMs: number) {}

  get active(): boolean {
    return this.since !== null;
  }

  /** One more failure at `now`: a report when it deserves a line, else null. */
  fail(now: number): FaultReport | null {
    this.failures += 1;
    if (this.since === null) {
      this.since = now;
      this.lastReportAt = now;
      return { kind: 'started' };
    }
    if (now - this.lastReportAt < this.remindEveryMs) return null;
    this.lastReportAt = now;
    return { kind: 'lasting', forMs: now - this.since, failures: this.failures };
  }

  /** A success at `now`: ends the fault if there was one. */
  recover(now: number): FaultReport | null {
    if (this.since === null) return null;
    const report: FaultReport = { kind: 'ended', lastedMs: now - this.since, failures: this.failures };
    this.since = null;
    this.failures = 0;
    return report;
  }
}
