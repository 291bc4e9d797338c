/** The e2e harness's leak check itself: it must find what it is there to find. */
import t from 'tap';
import { leakedSecrets } from '../support/agent';
import { minimalConfig } from '../support/config-fixture';

const config = { ...minimalConfig(), admin: { token: 'Hq8mZ2xrWk5p' }, redis: { url: 'redis://:Rq6wNs3y%2FPb@127.0.0.1:6379' } };
const line = (o: Record<string, unknown>) => JSON.stringify({ level: 30, ...o });

t.test('clean output, censored credentials included, has no leak', async (t) => {
  const output = [line({ msg: 'REGISTER accepted' }), line({ err: 'Authorization: Digest [redacted]', msg: 'x' }), 'plain stderr text'].join('\n');
  t.strictSame(leakedSecrets(config, output), []);
});

t.test('each configured secret is found, by key and line, never quoting it', async (t) => {
  const output = [
    line({ msg: 'start' }),
    line({ err: 'auth with Tq7vLm2pXa' }),
    line({ token: 'Hq8mZ2xrWk5p' }),
    'drachtio secret Dr4chtioTest9 on stderr',
    line({ url: 'password Rq6wNs3y/Pb' }),
  ].join('\n');
  t.strictSame(leakedSecrets(config, output), ['ipbx.password in output line 2', 'admin.token in output line 3', 'drachtio.secret in output line 4', 'redis.url in output line 5']);
});

t.test('a digest answer or an uncensored Authorization value is a leak', async (t) => {
  t.match(leakedSecrets(config, line({ err: 'nonce="n", response="0c5d8f"' })), [/response/]);
  t.match(leakedSecrets(config, 'Authorization: Digest username="appsrv"'), [/authorization/]);
});
