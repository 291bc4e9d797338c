/**
 * The owner's registration against a SIPp registrar that stops accepting it:
 * `registered` must follow the binding's real lifetime at the IPBX.
 */
import t from 'tap';
import { agentMetric } from '../support/metrics';
import { waitFor } from '../support/processes';
import { e2e, rig } from '../support/rig';
import { isRequest, startSipp, statusOf } from '../support/sipp';
import { contactOf, NET, registrarKeys, SECRETS } from '../support/topology';

/** The shortest lifetime the SIPp registrar grants (it answers 423 Min-Expires: 60 below it). */
const GRANT_SEC = 60;

e2e(t, run);

function run(): void {
  t.test('refreshes refused: registered until the granted lifetime has passed, then 0 with registration_failing, still retrying', async (t) => {
    const r = await rig(t, { owner: true, overrides: { ipbx: { expires: GRANT_SEC } } });
    const status = async () => (await r.agent.admin('/status')).body as { isOwner: boolean; registered: boolean };
    await waitFor(async () => (await status()).registered, 8000, 'the owner to register');
    // When the registrar got the REGISTER it accepted: the agent counts the lifetime from its own send, a few ms earlier.
    const accepted = r.registrar.messages().filter((m) => m.direction === 'received' && isRequest(m, 'REGISTER') && m.header('Contact') !== undefined).at(-1);
    const expiresAt = (accepted?.at as number) + GRANT_SEC * 1000;
    // The same registrar, now refusing every REGISTER: a password the agent does not have draws 403.
    await r.registrar.stop();
    const refusing = startSipp({
      scenario: 'ipbx-registrar.xml',
      localIp: NET.registrar,
      localPort: NET.sipPort,
      keys: registrarKeys({ password: `${SECRETS.sipPassword}-changed` }),
      timeoutSec: 2 * GRANT_SEC,
    });
    t.teardown(() => refusing.stop());
    const gauge = async () => {
      const text = (await r.agent.admin('/metrics')).text;
      const read = (re: RegExp) => Number(re.exec(text)?.[1]);
      return { registered: read(/^understudy_registered (\d+)$/m), failing: read(/^understudy_alarm\{alarm="registration_failing"\} (\d+)$/m) };
    };
    let droppedAt = 0;
    await waitFor(
      async () => {
        if ((await gauge()).registered !== 0) return false;
        droppedAt = Date.now();
        return true;
      },
      expiresAt + 1500 - Date.now(),
      'understudy_registered to drop to 0 once the lifetime has passed',
    );
    t.ok(droppedAt >= expiresAt - 500, `not before the lifetime ends (dropped ${droppedAt - expiresAt} ms from its end)`);
    t.strictSame(await gauge(), { registered: 0, failing: 1 }, 'gauge 0, registration_failing raised');
    t.match(await status(), { isOwner: true, registered: false }, '/status says it too');
    const refusals = refusing.messages().filter((m) => m.direction === 'sent' && statusOf(m) === 403).length;
    t.ok(refusals >= 4, `the refreshes were refused (${refusals} times)`);
    await waitFor(
      () => refusing.messages().some((m) => m.direction === 'received' && isRequest(m, 'REGISTER') && m.at > droppedAt),
      // The retry back-off is capped at 30 s.
      31_000,
      'a REGISTER after the binding lapsed: the owner keeps trying',
    );
  });

  t.test('the IPBX lists another contact beside ours: the owner steps down, removes its own binding, leaves the other, raises contact_conflict', async (t) => {
    const theirs = `sip:${SECRETS.sipUser}@${NET.outsider}:${NET.sipPort}`;
    const r = await rig(t, { owner: true, registrarAlsoLists: `Contact: <${theirs}>;expires=250` });
    const line = await r.agent.waitForLog((l) => String(l.msg).startsWith(`another contact holds the AOR: ${theirs}; stepping down`), 8000, 'the step-down');
    t.match(line, { level: 50, others: [theirs] });
    const registers = () => r.registrar.messages().filter((m) => m.direction === 'received' && isRequest(m, 'REGISTER'));
    await waitFor(() => registers().some((m) => m.header('Expires') === '0'), 5000, 'the REGISTER removing our binding');
    const removals = registers().filter((m) => m.header('Expires') === '0');
    t.ok(removals.every((m) => m.header('Contact') === `<${contactOf(NET.nodeA)}>`), 'only ours removed');
    t.notOk(registers().some((m) => m.header('Contact')?.includes(NET.outsider)), 'theirs never touched');
    await waitFor(async () => (await agentMetric(r.agent, 'understudy_alarm', 'alarm="contact_conflict"')) === 1, 5000, 'contact_conflict raised');
    t.match((await r.agent.admin('/status')).body, { isOwner: true, registered: false });
  });
}
