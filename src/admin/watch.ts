import { setTimeout as delay } from 'node:timers/promises';
import { AdminUnreachable, callAdmin, formatStatus, replyMessage } from './client';
import type { Status } from './status';

/** Home the cursor and clear the screen: each frame replaces the last instead of scrolling. */
const CLEAR = '\x1b[H\x1b[2J';

/**
 * `status --watch`: redraws the status every `intervalMs` until `signal` aborts
 * (Ctrl-C). An unreachable agent is a frame too: at 3 a.m. the watch must
 * show the agent going away and coming back, not exit.
 */
export async function watchStatus(url: string, token: string | undefined, intervalMs: number, write: (text: string) => void, signal: AbortSignal): Promise<void> {
  while (!signal.aborted) {
    let body: string;
    try {
      const r = await callAdmin(url, 'GET', '/status', token);
      body = r.httpStatus === 200 ? formatStatus(r.body as unknown as Status) : `REFUSED (HTTP ${r.httpStatus})  ${replyMessage(r)}`;
    } catch (err) {
      if (!(err instanceof AdminUnreachable)) throw err;
      body = `AGENT UNREACHABLE  ${err.message}`;
    }
    write(`${CLEAR}${body}\n\n${new Date().toISOString()}  every ${intervalMs / 1000} s, Ctrl-C to stop\n`);
    await delay(intervalMs, undefined, { signal }).catch(() => undefined);
  }
}
