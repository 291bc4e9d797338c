/**
 * Load benchmark: calls per second and call-setup latency of understudy (as
 * owner) against a minimal drachtio-srf B2BUA, on the same drachtio-server and
 * the same SIPp app, in the same run, at rising rates. Reported as ratios.
 * Bounded: each step is RATE x SECONDS calls and SIPp stops itself after 60 s.
 * Run: npm run bench   (needs drachtio, sipp on PATH; loopback only)
 */
import { resolve } from 'node:path';
import { startAgent } from '../test/support/agent';
import { drachtioAvailable, startDrachtio } from '../test/support/drachtio';
import { freeTcpPort, start, waitFor } from '../test/support/processes';
import { sippAvailable, startSipp } from '../test/support/sipp';
import { NET, nodeConfig, SECRETS } from '../test/support/topology';

const RATES = (process.env.BENCH_RATES ?? '50,100,200').split(',').map(Number);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);

interface Step {
  readonly rate: number;
  readonly calls: number;
  readonly ok: number;
  readonly cps: number;
  readonly p50: number;
  readonly p95: number;
}

const percentile = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN) : NaN;
};

/** One load step against whatever app is connected to drachtio at NET.nodeA. */
async function step(rate: number): Promise<Step> {
  const calls = rate * SECONDS;
  const started = Date.now();
  const caller = startSipp({
    scenario: 'caller.xml',
    remote: `${NET.nodeA}:${NET.sipPort}`,
    localIp: NET.caller,
    localPort: NET.callerPort,
    calls,
    rate,
    pauseMs: 0,
    timeoutSec: 60,
  });
  await caller.finished(70_000);
  const elapsed = (Date.now() - started) / 1000;
  const msgs = caller.messages();
  // Call setup: INVITE sent to its 200 received, per Call-ID, from SIPp's own message log timestamps.
  const sentAt = new Map<string, number>();
  const setup: number[] = [];
  for (const m of msgs) {
    const id = m.header('Call-ID') ?? '';
    if (m.direction === 'sent' && m.firstLine.startsWith('INVITE')) sentAt.set(id, m.at);
    if (m.direction === 'received' && m.firstLine.startsWith('SIP/2.0 200') && m.header('CSeq')?.endsWith('INVITE') && sentAt.has(id)) {
      setup.push(m.at - (sentAt.get(id) ?? 0));
      sentAt.delete(id);
    }
  }
  return { rate, calls, ok: setup.length, cps: setup.length / elapsed, p50: percentile(setup, 50), p95: percentile(setup, 95) };
}

async function main(): Promise<void> {
  if (!drachtioAvailable() || !sippAvailable()) {
    process.stdout.write('bench skipped: drachtio-server or sipp not found on PATH\n');
    return;
  }
  const drachtio = await startDrachtio({ sipAddress: NET.nodeA, sipPort: NET.sipPort, adminPort: await freeTcpPort(), secret: SECRETS.drachtio });
  const app = startSipp({ scenario: 'app-uas.xml', localIp: NET.appA, localPort: NET.appPort, pauseMs: 0, timeoutSec: 600 });
  const registrar = startSipp({
    scenario: 'ipbx-registrar.xml',
    localIp: NET.registrar,
    localPort: NET.sipPort,
    keys: { username: SECRETS.sipUser, password: SECRETS.sipPassword, bindings: 'X-Bindings: none' },
    timeoutSec: 600,
  });
  const results: { name: string; steps: Step[] }[] = [];
  try {
    // understudy, single-node owner (no peer, no Redis): the call path a production owner runs.
    const cfg = await nodeConfig({ id: 'node-a', role: 'primary', address: NET.nodeA, peerAddress: NET.nodeB, app: NET.appA, drachtioPort: drachtio.opts.adminPort });
    delete cfg.peer;
    const agent = await startAgent({ ...cfg, app: { ...(cfg.app as object), channels: 10_000 } });
    await new Promise((r) => setTimeout(r, 1000));
    const ours: Step[] = [];
    for (const rate of RATES) ours.push(await step(rate));
    await agent.stop();
    results.push({ name: 'understudy', steps: ours });

    const minimal = start(process.execPath, ['--import', '@tapjs/typescript/import', resolve(__dirname, 'minimal-b2bua.ts'), String(drachtio.opts.adminPort), SECRETS.drachtio, `sip:app@${NET.appA}:${NET.appPort}`], {
      cwd: resolve(__dirname, '..'),
    });
    await waitFor(() => minimal.output().includes('connected'), 15_000, `the minimal B2BUA to connect\n${minimal.output()}`);
    const base: Step[] = [];
    for (const rate of RATES) base.push(await step(rate));
    await minimal.stop();
    results.push({ name: 'minimal drachtio-srf B2BUA', steps: base });
  } finally {
    await Promise.all([app.stop(), registrar.stop(), drachtio.stop()]);
  }
  const [ours, base] = results;
  process.stdout.write(`\ncalls of ${SECONDS} s per rate; setup = INVITE to 200 at the caller\n`);
  process.stdout.write('rate/s | understudy cps  p50 ms  p95 ms | minimal cps  p50 ms  p95 ms | cps ratio  p50 ratio  p95 ratio\n');
  for (let i = 0; i < RATES.length; i++) {
    const o = ours?.steps[i];
    const b = base?.steps[i];
    if (!o || !b) continue;
    const f = (n: number, d = 1) => n.toFixed(d).padStart(6);
    process.stdout.write(
      `${String(o.rate).padStart(6)} | ${f(o.cps)} (${o.ok}/${o.calls}) ${f(o.p50)} ${f(o.p95)} | ${f(b.cps)} (${b.ok}/${b.calls}) ${f(b.p50)} ${f(b.p95)} | ${f(o.cps / b.cps, 2)}  ${f(o.p50 / b.p50, 2)}  ${f(o.p95 / b.p95, 2)}\n`,
    );
  }
}

void main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
