import t from 'tap';
import { decideOverflow, type OverflowAction } from '../../src/core/overflow';
import type { Mode, VerdictKind } from '../../src/core/types';

const table: ReadonlyArray<readonly [VerdictKind, Mode, OverflowAction]> = [
  ['alive', 'ha', { kind: 'dissuade', because: 'alive' }],
  ['alive', 'backup', { kind: 'dissuade', because: 'alive' }],
  ['split', 'ha', { kind: 'dissuade', because: 'split' }],
  ['split', 'backup', { kind: 'dissuade', because: 'split' }],
  ['dead', 'ha', { kind: 'takeover' }],
  ['dead', 'backup', { kind: 'alarm' }],
];

t.test('every verdict in every mode', async (t) => {
  for (const [verdict, mode, expected] of table) {
    t.strictSame(decideOverflow(verdict, mode), expected, `${verdict} in ${mode} mode`);
  }
});

// Enumerated apart from the table, so a pair missing from it still gets checked.
const VERDICTS: readonly VerdictKind[] = ['alive', 'split', 'dead'];
const MODES: readonly Mode[] = ['ha', 'backup'];

t.test('the table covers every verdict in every mode', async (t) => {
  t.equal(table.length, VERDICTS.length * MODES.length);
  for (const v of VERDICTS) for (const m of MODES) t.ok(table.some(([tv, tm]) => tv === v && tm === m), `${v} in ${m} mode`);
});

t.test('only a dead owner in ha mode leads to a takeover', async (t) => {
  const takeovers = VERDICTS.flatMap((v) => MODES.filter((m) => decideOverflow(v, m).kind === 'takeover').map((m) => `${v}/${m}`));
  t.strictSame(takeovers, ['dead/ha']);
});
