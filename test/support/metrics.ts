import type { RunningAgent } from './agent';

/**
 * One sample of a Prometheus text exposition, NaN when absent: the agent zeroes
 * every labelled series at start, so a missing one is a failure to see, not a 0.
 */
export function metricValue(text: string, name: string, labels = ''): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels ? `{${labels}}` : ''} `));
  return line ? Number(line.split(' ')[1]) : NaN;
}

/** The agent's current value of one series, read from its metrics listener. */
export async function agentMetric(agent: RunningAgent, name: string, labels = ''): Promise<number> {
  return metricValue((await agent.admin('/metrics')).text, name, labels);
}
