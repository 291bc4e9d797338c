import t from 'tap';
import { dissuasionResponse } from '../../src/core/dissuasion';

const OWNER = 'sip:appsrv@10.0.0.1:5060';

t.test('486 by default: no reason override, no headers', async (t) => {
  const r = dissuasionResponse({ status: 486 }, OWNER);
  t.strictSame(r, { status: 486, headers: {} });
  t.notOk('reason' in r, 'the stack supplies the default reason phrase');
});

t.test('302 points the IPBX at the owner', async (t) => {
  t.strictSame(dissuasionResponse({ status: 302 }, OWNER), { status: 302, headers: { Contact: `<${OWNER}>` } });
  t.strictSame(
    dissuasionResponse({ status: 302, reason: 'Moved Temporarily' }, 'sip:appsrv@[2001:db8::1]:5060;transport=tcp'),
    { status: 302, reason: 'Moved Temporarily', headers: { Contact: '<sip:appsrv@[2001:db8::1]:5060;transport=tcp>' } },
    'URI parameters stay inside the brackets',
  );
});

t.test('503 goes without Retry-After (or any header)', async (t) => {
  const r = dissuasionResponse({ status: 503 }, OWNER);
  t.strictSame(r, { status: 503, headers: {} });
  t.notOk(Object.keys(r.headers).some((h) => h.toLowerCase() === 'retry-after'));
});

t.test('only 302 carries a Contact', async (t) => {
  for (const status of [480, 486, 488, 500, 503, 600]) {
    t.strictSame(dissuasionResponse({ status }, OWNER).headers, {}, `${status}`);
  }
});

t.test('a custom reason phrase is passed through', async (t) => {
  t.strictSame(dissuasionResponse({ status: 486, reason: 'All Channels Busy' }, OWNER), {
    status: 486,
    reason: 'All Channels Busy',
    headers: {},
  });
  t.strictSame(dissuasionResponse({ status: 503, reason: '' }, OWNER), { status: 503, reason: '', headers: {} }, 'even an empty one');
});

t.test('each response gets its own headers object', async (t) => {
  const a = dissuasionResponse({ status: 302 }, OWNER);
  const b = dissuasionResponse({ status: 302 }, OWNER);
  t.not(a.headers, b.headers);
});
