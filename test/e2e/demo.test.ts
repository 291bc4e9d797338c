/**
 * The README's first command ends in `demo/run.ts`: run it as CI does
 * (--ci: the story, then exit) and check each chapter is told and every
 * process it started is gone once it has exited.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import t from 'tap';
import { start, waitFor } from '../support/processes';
import { e2e } from '../support/rig';

const ROOT = resolve(__dirname, '../..');

/** Every live process below `root`, from /proc (a child's parent is field 4 of its stat, after the command in parentheses). */
function descendants(root: number): number[] {
  const parents = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      parents.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // gone between readdir and read
    }
  }
  const found: number[] = [];
  const walk = (pid: number) => {
    for (const [child, parent] of parents) {
      if (parent === pid) {
        found.push(child);
        walk(child);
      }
    }
  };
  walk(root);
  return found;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ');
  } catch {
    return false;
  }
}

e2e(t, () => {
  t.test('the demo tells each chapter and leaves nothing running', async (t) => {
    const demo = start(process.execPath, ['--import', '@tapjs/typescript/import', 'demo/run.ts', '--ci'], {
      cwd: ROOT,
      // The test network, not the demo's own 127.0.5: a demo someone left running there is not disturbed.
      env: { ...process.env, UNDERSTUDY_DEMO_NET: process.env.UNDERSTUDY_TEST_NET ?? '127.0.0' },
    });
    const seen = new Set<number>();
    let code: number | null | 'running' = 'running';
    void demo.exited.then((c) => (code = c));
    await waitFor(
      () => {
        for (const pid of descendants(demo.pid)) seen.add(pid);
        return code !== 'running';
      },
      180_000,
      `the demo to finish\n${demo.output().slice(-3000)}`,
    );
    const out = demo.output();
    t.comment(out);
    t.equal(code, 0, 'the demo exits 0');
    for (const line of [
      /call 1 → node-a \(owner\): answered by app A/,
      /call 3 → node-a \(owner\): 486 busy/,
      /call 3 → overflow to node-b: 486 busy \(dissuaded: node-b found node-a alive\)/,
      /call 3 → back to node-a \(owner\), try \d: answered by app A/,
      /IPBX: appsrv registered at node-b/,
      /call 4 → overflow to node-b: answered by app B/,
      /node-a is back: it reads that node-b owns at epoch 2, registered no: it stays passive/,
      /call 5 → node-b \(owner\): answered by app B/,
      /failback done: node-a owns at epoch 3/,
      /call 7 → node-a \(owner\): answered by app A/,
      /call 6 ended: the caller hung up after 6\.\d s, on node-b to the end/,
      /takeover +node-a -> node-b +epoch 2/,
      /stopped everything the demo started/,
    ]) {
      t.match(out, line, String(line));
    }
    t.ok(seen.size >= 10, `saw ${seen.size} processes started by the demo`);
    await waitFor(() => [...seen].every((pid) => !alive(pid)), 5000, `every process the demo started to be gone: ${[...seen].filter(alive).join(' ')}`).catch(() => undefined);
    t.strictSame([...seen].filter(alive), [], 'none is left running');
  });
});
