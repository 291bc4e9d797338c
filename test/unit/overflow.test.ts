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

t.test('only a dead owner in ha mode leads to a takeover', async (t) => {
  const takeovers = table.filter(([verdict, mode]) => decideOverflow(verdict, mode).kind === 'takeover');
  t.strictSame(
    takeovers.map(([verdict, mode]) => [verdict, mode]),
    [['dead', 'ha']],
  );
});
