import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import t from 'tap';
import { TOOLS, withTools } from '../support/preconditions';

const root = resolve(__dirname, '../..');

function promtool(...args: string[]) {
  return spawnSync('promtool', args, { cwd: root, encoding: 'utf8' });
}

// promtool ships outside npm (Debian package `prometheus`); without it, outside CI, the rules are checked by dashboard.test.ts only.
withTools(t, 'promtool', [TOOLS.promtool], () => {
  t.test('promtool check rules', async (t) => {
    const r = promtool('check', 'rules', 'config/prometheus/alerts.yml');
    t.equal(r.status, 0, r.stdout + r.stderr);
  });

  t.test('promtool test rules', async (t) => {
    const r = promtool('test', 'rules', 'test/prometheus/alerts.test.yml');
    t.equal(r.status, 0, r.stdout + r.stderr);
  });
});
