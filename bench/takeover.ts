/**
 * Takeover latency: how long the first overflow call after the owner died waits
 * at the non-owner, from its INVITE to its 200, with the default verification
 * settings, with the owner watch (verification.watchOwner, "evidence in hand")
 * off and on. One call per trial, each trial on a fresh agent, Redis and SIPp
 * peers, so no trial inherits what another learnt.
 */
import { configSchema } from '../src/config/schema';
import { LOG_FLUSH_MS } from '../src/log';
import { peerHeartbeatStale, startAgent } from '../test/support/agent';
import type { Drachtio } from '../test/support/drachtio';
import { agentMetric } from '../test/support/metrics';
import { sleep, waitFor } from '../test/support/processes';
import { startRedis } from '../test/support/redis';
import { call } from '../test/support/rig';
import { isRequest, statusOf } from '../test/support/sipp';
import { NET } from '../test/support/topology';
import { app, owner, PATHS, registrar } from './paths';

/**
 * The schema's defaults, restated over nodeConfig's test timings (interval 200 ms):
 * the figure is the one an operator gets without tuning.
 */
export const VERIFICATION = configSchema.shape.verification.parse(undefined);

/** The owner counts as dead long enough once it has been silent this long: more than attempts × intervalMs. */
const DEAD_FOR_MS = (VERIFICATION.attempts + 1) * VERIFICATION.intervalMs;
/** The watch raises owner_unreachable after attempts failed probes: about attempts × intervalMs + timeoutMs; ample margin. */
const ALARM_WITHIN_MS = 10_000;
/** Ten log flush periods. */
const DECISION_LOGGED_WITHIN_MS = 10 * LOG_FLUSH_MS;
/** The SIPp caller stops itself after 30 s whatever happens (rig's call). */
const CALL_WITHIN_MS = 40_000;

export interface Trial {
  /** The call was answered 200 (and SIPp's scenario completed). */
  readonly ok: boolean;
  /** From the INVITE sent to the agent's overflow decision logged, ms; NaN without a decision. */
  readonly decisionMs: number;
  /** From the INVITE sent to the 200 received, ms; NaN without a 200. */
  readonly answerMs: number;
  /** The decision log line's verdict, action, and whether it came from the watch's probes. */
  readonly decision: string;
}

async function trial(drachtio: Drachtio, watchOwner: boolean): Promise<Trial> {
  const path = PATHS.dissuasion!;
  const redis = await startRedis();
  try {
    const primary = owner();
    const peers = [primary, app(NET.appB), registrar()];
    try {
      const cfg = await path.agentConfig(drachtio.opts.adminPort, redis.url);
      const agent = await startAgent({ ...cfg, verification: { ...VERIFICATION, watchOwner } });
      try {
        await path.agentReady(agent);
        // Silent, not gone: a closed port makes the kernel answer with ICMP and the stack fail the probe at
        // once, whereas a host that died answers nothing, and that wait (attempts × timeoutMs + the intervals) is what is measured.
        primary.pause();
        const diedAt = Date.now();
        if (watchOwner) {
          await waitFor(
            async () => (await agentMetric(agent, 'understudy_alarm', 'alarm="owner_unreachable"')) === 1,
            ALARM_WITHIN_MS,
            'owner_unreachable',
          );
        }
        // The condition under test, not a stand-in for an event: the owner dead for longer than attempts × intervalMs.
        await sleep(Math.max(0, diedAt + DEAD_FOR_MS - Date.now()));
        // A SIPp owner writes no heartbeat: this holds at once unless the store says otherwise.
        await peerHeartbeatStale(agent, (cfg.heartbeat as { staleAfterMs: number }).staleAfterMs);
        const caller = call(NET.nodeB, 'bench-caller-bridged.xml', { pauseMs: 0 });
        try {
          const code = await caller.finished(CALL_WITHIN_MS);
          const messages = caller.messages();
          const invite = messages.find((m) => m.direction === 'sent' && isRequest(m, 'INVITE'));
          const answer = messages.find((m) => m.direction === 'received' && statusOf(m) === 200 && m.header('CSeq')?.endsWith('INVITE'));
          // The agent writes its log in batches (log.flushMs): the line may follow the call's end by that long.
          const decided = await agent.waitForLog((l) => typeof l.verdict === 'string', DECISION_LOGGED_WITHIN_MS, 'the overflow decision').catch(() => undefined);
          const inviteAt = invite?.at ?? NaN;
          return {
            ok: code === 0 && answer !== undefined,
            decisionMs: decided ? Date.parse(String(decided.time)) - inviteAt : NaN,
            answerMs: (answer?.at ?? NaN) - inviteAt,
            decision: decided ? `${String(decided.verdict)}, ${String(decided.action)}, evidence ${String(decided.evidence)}` : 'none logged',
          };
        } finally {
          await caller.stop();
        }
      } finally {
        await agent.stop();
      }
    } finally {
      await Promise.all(peers.map((p) => p.stop()));
    }
  } finally {
    await redis.stop();
  }
}

/** `trials` takeovers in a row, each reported on stdout as it ends. `drachtio`: the non-owner's, at NET.nodeB. */
export async function measureTakeover(drachtio: Drachtio, watchOwner: boolean, trials: number): Promise<Trial[]> {
  const out: Trial[] = [];
  for (let i = 1; i <= trials; i++) {
    const r = await trial(drachtio, watchOwner);
    out.push(r);
    process.stdout.write(
      `takeover, watchOwner ${watchOwner}, trial ${i}/${trials}: ${r.ok ? '200' : 'FAILED'}; INVITE → decision ${r.decisionMs.toFixed(0)} ms (${r.decision}), INVITE → 200 ${r.answerMs.toFixed(0)} ms\n`,
    );
  }
  return out;
}
