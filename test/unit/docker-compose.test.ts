import { spawnSync } from 'node:child_process';
import t from 'tap';
import { parse } from 'yaml';
import { TOOLS, withTools } from '../support/preconditions';

/** No Docker engine runs here; `docker-compose config` still validates and resolves the file. */
const env = { ...process.env, IPBX_PASSWORD: 'Tq7vLm2pXa', ADMIN_TOKEN: 'Adm1nTok3nXq', DRACHTIO_SECRET: 'Dr4chtioTest9' };

withTools(t, 'docker-compose', [TOOLS.dockerCompose], () => {
  t.test('docker-compose.yml is valid and runs the pair as deployed', async (t) => {
    const r = spawnSync('docker-compose', ['-f', 'docker-compose.yml', 'config'], { env, encoding: 'utf8' });
    t.equal(r.status, 0, r.stderr);
    const resolved = parse(r.stdout) as { services: Record<string, { image?: string; build?: unknown; environment?: Record<string, string>; volumes?: unknown[] }> };
    t.strictSame(Object.keys(resolved.services).sort(), ['drachtio-a', 'drachtio-b', 'redis', 'understudy-a', 'understudy-b']);
    t.match(resolved.services['drachtio-a']?.image, /^drachtio\/drachtio-server/);
    for (const agent of ['understudy-a', 'understudy-b']) {
      const s = resolved.services[agent];
      t.ok(s?.build, `${agent} is built from the Dockerfile`);
      t.equal(s?.environment?.UNDERSTUDY_IPBX__PASSWORD, env.IPBX_PASSWORD, `${agent} takes its secrets from the environment`);
    }
  });

  t.test('without the secrets in the environment it refuses to resolve', async (t) => {
    const r = spawnSync('docker-compose', ['-f', 'docker-compose.yml', 'config'], {
      env: { PATH: process.env.PATH ?? '' },
      encoding: 'utf8',
    });
    t.not(r.status, 0);
    t.match(r.stderr, /IPBX_PASSWORD|ADMIN_TOKEN|DRACHTIO_SECRET/);
  });
});
