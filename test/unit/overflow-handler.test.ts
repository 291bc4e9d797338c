import pino from 'pino';
import t from 'tap';
import { epoch, type Ownership, type SipVerdict, type Verdict } from '../../src/core/types';
import type { VerificationResult } from '../../src/core/verification';
import type { ChangeResult } from '../../src/failover';
import { type OverflowDelegate, OverflowHandler, type OwnershipPort, type PeerCheck } from '../../src/overflow-handler';
import { MemoryStore } from '../../src/state/memory-store';
import type { StateStore } from '../../src/state/store';
import { FakeClock } from '../support/fake-clock';
import { faulty } from '../support/faulty-store';

const silent = pino({ level: 'silent' });
const dead: SipVerdict = { alive: false, probes: [], decidedAt: 0 };
const alive: SipVerdict = { ...dead, alive: true };

/** A verifier that answers what the test says, and counts what it is asked. */
class FakeVerifier implements Pick<PeerCheck['verifier'], 'verify' | 'invalidate'> {
  next: VerificationResult = { kind: 'verdict', verdict: dead, joined: false, cached: false };
  invalidations = 0;
  pending = 0;

  async verify(signal?: AbortSignal): Promise<VerificationResult> {
    return signal?.aborted ? { kind: 'cancelled' } : this.next;
  }

  invalidate(): void {
    this.invalidations += 1;
  }
}

class FakeOwnership implements OwnershipPort {
  ownership: Ownership | null = { owner: 'a', epoch: epoch(1) };
  owner = false;
  readonly takeovers: Verdict[] = [];
  result: ChangeResult = { ok: true, changed: true, ownership: { owner: 'b', epoch: epoch(2) }, message: 'b owns at epoch 2' };

  isOwner(): boolean {
    return this.owner;
  }

  async takeOver(evidence: Verdict): Promise<ChangeResult> {
    this.takeovers.push(evidence);
    return this.result;
  }
}

function handler(opts: { mode?: 'ha' | 'backup'; store?: StateStore; single?: boolean } = {}) {
  const clock = new FakeClock();
  const verifier = new FakeVerifier();
  const failover = new FakeOwnership();
  const store = opts.store ?? new MemoryStore();
  const seen = { verdicts: [] as Verdict[], backupAlarms: 0, storeErrors: [] as string[] };
  const delegate: OverflowDelegate = {
    onVerdict: (v) => seen.verdicts.push(v),
    onBackupAlarm: () => (seen.backupAlarms += 1),
    onStoreError: (op) => seen.storeErrors.push(op),
  };
  const h = new OverflowHandler(
    opts.single ? null : { id: 'a', uri: 'sip:127.0.0.12:5060', verifier },
    failover,
    store,
    { mode: opts.mode ?? 'ha', dissuasion: { status: 302 }, staleAfterMs: 3000 },
    clock,
    delegate,
  );
  const handle = () => h.handle(new AbortController().signal, silent);
  return { h, handle, clock, verifier, failover, store, seen };
}

t.test('the owner heartbeat turns a dead SIP verdict into a split, dead, or unknown; an alive owner needs no heartbeat', async (t) => {
  const store = faulty(new MemoryStore());
  const { h, handle, clock, verifier } = handler({ mode: 'backup', store });
  const judged = async (sip: SipVerdict) => {
    verifier.next = { kind: 'verdict', verdict: sip, joined: false, cached: false };
    await handle();
    return h.verdict;
  };
  await store.writeHeartbeat({ node: 'a', status: 'healthy', at: clock.now(), epochSeen: epoch(1) }, 10_000);
  t.match(await judged(dead), { kind: 'split', heartbeat: 'fresh-healthy' });
  await store.writeHeartbeat({ node: 'a', status: 'unhealthy', at: clock.now(), epochSeen: epoch(1) }, 10_000);
  t.match(await judged(dead), { kind: 'dead', heartbeat: 'fresh-unhealthy' });
  await clock.advance(3001);
  store.down = false;
  t.match(await judged(dead), { kind: 'dead', heartbeat: 'stale' });
  store.down = true;
  t.match(await judged(dead), { kind: 'dead', heartbeat: 'unknown' });
  t.match(await judged({ ...dead, alive: true }), { kind: 'alive' });
  t.match(h.verdict, { kind: 'alive' });
});

t.test('an alive owner: the call is dissuaded with the configured response, nothing is taken over', async (t) => {
  const { handle, verifier, failover, seen } = handler();
  verifier.next = { kind: 'verdict', verdict: alive, joined: false, cached: false };
  t.strictSame(await handle(), { kind: 'refuse', response: { status: 302, headers: { Contact: '<sip:127.0.0.12:5060>' } } });
  t.strictSame(failover.takeovers, []);
  t.match(seen.verdicts, [{ kind: 'alive', heartbeat: 'unknown' }]);
});

t.test('a dead owner in ha mode: one takeover carrying the verdict, then the call is bridged', async (t) => {
  const { handle, failover } = handler();
  t.strictSame(await handle(), { kind: 'bridge', tookOver: true });
  t.match(failover.takeovers, [{ kind: 'dead', heartbeat: 'absent' }]);
});

t.test('a takeover the IPBX refuses: the call is dissuaded', async (t) => {
  const { handle, failover } = handler();
  failover.result = { ok: false, message: 'the IPBX refused the takeover: 403 Forbidden' };
  t.match(await handle(), { kind: 'refuse', response: { status: 302 } });
  t.equal(failover.takeovers.length, 1);
});

t.test('a dead owner in backup mode: the alarm is raised, the call dissuaded, nothing taken over', async (t) => {
  const { handle, failover, seen } = handler({ mode: 'backup' });
  t.match(await handle(), { kind: 'refuse', response: { status: 302 } });
  t.equal(seen.backupAlarms, 1);
  t.strictSame(failover.takeovers, []);
});

t.test('another call took over while this one waited: bridged, not judged', async (t) => {
  const { handle, failover, seen } = handler();
  failover.owner = true;
  t.strictSame(await handle(), { kind: 'bridge', tookOver: false });
  t.strictSame(seen.verdicts, []);
  t.strictSame(failover.takeovers, []);
});

t.test('a call cancelled during verification gets no answer from us', async (t) => {
  const { h } = handler();
  const abort = new AbortController();
  abort.abort();
  t.strictSame(await h.handle(abort.signal, silent), { kind: 'cancelled' });
});

t.test('single-node mode has no peer to verify: an overflow INVITE is refused with 503', async (t) => {
  const { handle, failover } = handler({ single: true });
  t.strictSame(await handle(), { kind: 'refuse', response: { status: 503, headers: {} } });
  t.strictSame(failover.takeovers, []);
});

t.test('a heartbeat that cannot be read is a store error; the SIP path decides alone', async (t) => {
  const store = faulty(new MemoryStore());
  store.down = true;
  const { handle, failover, seen } = handler({ store });
  t.strictSame(await handle(), { kind: 'bridge', tookOver: true });
  t.match(failover.takeovers, [{ kind: 'dead', heartbeat: 'unknown' }]);
  t.strictSame(seen.storeErrors, ['readHeartbeat']);
});

t.test('cycles are counted, not calls: a joined or cached verdict is not reported again', async (t) => {
  const { handle, verifier, seen } = handler({ mode: 'backup' });
  verifier.next = { kind: 'verdict', verdict: dead, joined: true, cached: false };
  await handle();
  verifier.next = { kind: 'verdict', verdict: alive, joined: false, cached: true };
  await handle();
  t.strictSame(seen.verdicts, []);
});

t.test('a new epoch forgets a cached alive verdict: it was about the previous owner', async (t) => {
  const { handle, verifier, failover } = handler();
  verifier.next = { kind: 'verdict', verdict: alive, joined: false, cached: false };
  await handle();
  const before = verifier.invalidations;
  await handle();
  t.equal(verifier.invalidations, before, 'same epoch: the cache stands');
  failover.ownership = { owner: 'a', epoch: epoch(3) };
  await handle();
  t.equal(verifier.invalidations, before + 1);
});

t.test('learning the first epoch is no change of owner: what was learnt of the peer before stands', async (t) => {
  const { handle, verifier, failover } = handler();
  failover.ownership = null; // the store was still empty at the first call
  verifier.next = { kind: 'verdict', verdict: alive, joined: false, cached: false };
  await handle();
  failover.ownership = { owner: 'a', epoch: epoch(1) };
  await handle();
  t.equal(verifier.invalidations, 0, 'nothing forgotten');
  failover.ownership = { owner: 'b', epoch: epoch(2) };
  await handle();
  t.equal(verifier.invalidations, 1, 'a later change of epoch still forgets');
});

t.test("the decision line: a dissuasion on an answer in hand leaves out the probes; a call's own cycle and any other action carry them", async (t) => {
  const { h, verifier } = handler();
  const probes = [{ attempt: 1, outcome: 'alive' as const, status: 200, rttMs: 3, at: 0 }];
  const decide = async (verdict: SipVerdict, cached: boolean) => {
    const lines: Record<string, unknown>[] = [];
    const log = pino({ level: 'info' }, { write: (l: string) => void lines.push(JSON.parse(l) as Record<string, unknown>) });
    verifier.next = { kind: 'verdict', verdict: { ...verdict, probes }, joined: false, cached };
    await h.handle(new AbortController().signal, log);
    return lines.filter((l) => typeof l.verdict === 'string');
  };
  t.match(await decide(alive, true), [{ verdict: 'alive', action: 'dissuade', cached: true, probes: undefined }]);
  t.match(await decide(alive, false), [{ verdict: 'alive', action: 'dissuade', cached: false, probes }]);
  t.match(await decide(dead, false), [{ verdict: 'dead', action: 'takeover', probes }]);
});
