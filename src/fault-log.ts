import type { Logger } from 'pino';
import type { Clock } from './core/clock';
import { LastingFault } from './core/lasting-fault';

/** How often a fault that lasts is logged again. Metrics and alarms carry the rate; the log says it goes on. */
export const FAULT_REMINDER_MS = 5 * 60_000;

function human(ms: number): string {
  const s = Math.round(ms / 1000);
  return s < 120 ? `${s} s` : s < 7200 ? `${Math.round(s / 60)} min` : `${(s / 3600).toFixed(1)} h`;
}

/**
 * Logs a lasting fault as core/lasting-fault.ts decides: the first failure at
 * error with its own message, a reminder with the duration and count, every
 * other failure at debug only, and `endedMessage` once when it is over.
 */
export class FaultLog {
  private readonly fault: LastingFault;

  constructor(
    private readonly log: Logger,
    private readonly clock: Clock,
    private readonly endedMessage: string,
    remindEveryMs = FAULT_REMINDER_MS,
  ) {
    this.fault = new LastingFault(remindEveryMs);
  }

  failed(message: string, fields: Record<string, unknown> = {}): void {
    const report = this.fault.fail(this.clock.now());
    if (report?.kind === 'started') this.log.error(fields, message);
    else if (report?.kind === 'lasting') {
      this.log.error({ ...fields, forSec: Math.round(report.forMs / 1000), failures: report.failures }, `still failing after ${human(report.forMs)} (${report.failures} failures): ${message}`);
    } else this.log.debug(fields, message);
  }

  recovered(): void {
    const report = this.fault.recover(this.clock.now());
    if (report?.kind === 'ended') {
      this.log.info(
        { lastedSec: Math.round(report.lastedMs / 1000), failures: report.failures },
        `${this.endedMessage} after ${human(report.lastedMs)} (${report.failures} failures)`,
      );
    }
  }
}
