#!/usr/bin/env node
import { Command, Option } from 'commander';
import { Agent } from './agent';
import { AdminUnreachable, callAdmin, formatStatus, replyMessage } from './admin/client';
import { DEFAULT_EVENTS_READ, formatEvents, parseSince } from './admin/events-view';
import { buildMetricsServer } from './admin/metrics-server';
import { buildAdminServer } from './admin/server';
import type { Status } from './admin/status';
import { watchStatus } from './admin/watch';
import type { TransitionEvent } from './core/types';
import { auditConfig, auditExitCode, formatFindings } from './config/audit';
import { ConfigError, loadConfig, readSecretFile } from './config/load';
import type { Config } from './config/schema';
import { configSecrets } from './config/secrets';
import { createLogger } from './log';

/** Exit codes: scripts and runbooks branch on these. */
const EXIT = { ok: 0, refused: 1, usage: 2, unreachable: 3 } as const;

const program = new Command('understudy')
  .description('SIP overflow and failover agent')
  .showHelpAfterError()
  .exitOverride((err) => process.exit(err.exitCode === 0 ? EXIT.ok : EXIT.usage));

const configOption = () => new Option('-c, --config <file>', 'YAML config file').env('UNDERSTUDY_CONFIG');

function load(file: string | undefined): Config {
  if (!file) fail(EXIT.usage, 'no config file: pass --config or set UNDERSTUDY_CONFIG');
  try {
    return loadConfig(file);
  } catch (err) {
    if (err instanceof ConfigError) fail(EXIT.usage, err.message);
    throw err;
  }
}

function fail(code: number, message: string): never {
  process.stderr.write(`understudy: ${message}\n`);
  process.exit(code);
}

program
  .command('run')
  .description('run the agent')
  .addOption(configOption())
  .action(async (opts: { config?: string }) => {
    const cfg = load(opts.config);
    const log = createLogger(cfg.log.level, { node: cfg.node.id }, {
      secrets: configSecrets(cfg).flatMap((s) => s.value ?? []),
      flushMs: cfg.log.flushMs,
    });
    // A bug must leave a trace in the log before the process goes (the supervisor restarts it).
    for (const event of ['uncaughtException', 'unhandledRejection'] as const) {
      process.on(event, (err: unknown) => {
        log.fatal({ err: err instanceof Error ? err.stack : String(err), event }, 'internal error: exiting');
        process.exit(EXIT.refused);
      });
    }
    const agent = new Agent(cfg, log);
    const admin = buildAdminServer(agent, cfg.admin, log, agent.adminDelegate);
    const metrics = buildMetricsServer(agent, log);
    await agent.start();
    for (const [what, server, at] of [['admin API', admin, cfg.admin], ['metrics', metrics, cfg.metrics]] as const) {
      try {
        await server.listen({ host: at.host, port: at.port });
      } catch (err) {
        log.fatal({ err: String(err) }, `${what} could not listen`);
        await Promise.allSettled([admin.close(), metrics.close(), agent.stop()]);
        process.exit(EXIT.refused);
      }
    }
    log.info(
      { admin: `${cfg.admin.tls ? 'https' : 'http'}://${cfg.admin.host}:${cfg.admin.port}`, metrics: `http://${cfg.metrics.host}:${cfg.metrics.port}/metrics` },
      'understudy started',
    );
    const shutdown = (signal: string) => {
      log.info({ signal }, 'stopping');
      void Promise.allSettled([admin.close(), metrics.close(), agent.stop()]).then(() => process.exit(EXIT.ok));
    };
    process.once('SIGTERM', () => shutdown('SIGTERM'));
    process.once('SIGINT', () => shutdown('SIGINT'));
  });

program
  .command('audit')
  .description('list every security finding in the effective config; exit 1 when any is high')
  .addOption(configOption())
  .action((opts: { config?: string }) => {
    const findings = auditConfig(load(opts.config));
    process.stdout.write(`${formatFindings(findings)}\n`);
    process.exit(auditExitCode(findings));
  });

interface AdminOpts {
  url?: string;
  token?: string;
  tokenFile?: string;
  config?: string;
  json?: boolean;
  watch?: string | true;
  since?: string;
  limit?: string;
}

/** The token given on the command line, the safe way (a file) or the visible one (`--token`). */
function cliToken(opts: AdminOpts): string | undefined {
  if (opts.token !== undefined && opts.tokenFile !== undefined) fail(EXIT.usage, 'give --token or --token-file, not both');
  if (opts.tokenFile === undefined) return opts.token;
  try {
    return readSecretFile('--token-file', opts.tokenFile);
  } catch (err) {
    if (err instanceof ConfigError) fail(EXIT.usage, err.problems.join('; '));
    throw err;
  }
}

function adminTarget(opts: AdminOpts): { url: string; token: string | undefined } {
  const token = cliToken(opts);
  if (opts.url) return { url: opts.url, token };
  if (opts.config) {
    const cfg = load(opts.config);
    const host = cfg.admin.host === '0.0.0.0' ? '127.0.0.1' : cfg.admin.host;
    return { url: `${cfg.admin.tls ? 'https' : 'http'}://${host}:${cfg.admin.port}`, token: token ?? cfg.admin.token };
  }
  return { url: 'http://127.0.0.1:8080', token };
}

function adminCommand(
  name: string,
  description: string,
  run: (target: { url: string; token: string | undefined }, opts: AdminOpts) => Promise<number>,
  extra: readonly Option[] = [],
) {
  const command = program.command(name);
  for (const option of extra) command.addOption(option);
  command
    .description(description)
    .addOption(new Option('-u, --url <url>', 'admin API base URL (default: from --config, else http://127.0.0.1:8080)'))
    .addOption(
      new Option('--token-file <file>', 'file holding the admin bearer token (mode 600); default: admin.token of --config').env('UNDERSTUDY_ADMIN__TOKEN_FILE'),
    )
    // The variables are the config's own overrides, so one setting serves `run` and these commands.
    .addOption(new Option('-t, --token <token>', 'admin bearer token: visible to every user in `ps`, prefer --token-file').env('UNDERSTUDY_ADMIN__TOKEN'))
    .addOption(configOption())
    .option('--json', 'print the raw JSON answer')
    .action(async (opts: AdminOpts) => {
      try {
        process.exit(await run(adminTarget(opts), opts));
      } catch (err) {
        if (err instanceof AdminUnreachable) fail(EXIT.unreachable, err.message);
        throw err;
      }
    });
}

adminCommand(
  'status',
  'show ownership, registration, health and the last verdict',
  async ({ url, token }, opts) => {
    if (opts.watch !== undefined) {
      const seconds = opts.watch === true ? 2 : Number(opts.watch);
      if (!(seconds >= 0.5 && seconds <= 3600)) fail(EXIT.usage, '--watch takes 0.5 to 3600 seconds');
      const stop = new AbortController();
      process.once('SIGINT', () => stop.abort());
      process.once('SIGTERM', () => stop.abort());
      await watchStatus(url, token, seconds * 1000, (text) => process.stdout.write(text), stop.signal);
      return EXIT.ok;
    }
    const r = await callAdmin(url, 'GET', '/status', token);
    if (opts.json) process.stdout.write(`${JSON.stringify(r.body, null, 2)}\n`);
    else if (r.httpStatus === 200) process.stdout.write(`${formatStatus(r.body as unknown as Status)}\n`);
    else process.stderr.write(`understudy: status refused (HTTP ${r.httpStatus}): ${replyMessage(r)}\n`);
    return r.httpStatus === 200 ? EXIT.ok : EXIT.refused;
  },
  [new Option('-w, --watch [seconds]', 'redraw the status in place every few seconds (default 2) until Ctrl-C')],
);

adminCommand(
  'events',
  'print the ownership transitions with who asked and the evidence, newest last',
  async ({ url, token }, opts) => {
    const since = opts.since === undefined ? 0 : parseSince(opts.since, Date.now());
    if (since === null) fail(EXIT.usage, `--since: "${opts.since}" is neither a duration (90s, 15m, 2h, 1d) nor a date`);
    const r = await callAdmin(url, 'GET', `/events?limit=${encodeURIComponent(opts.limit ?? String(DEFAULT_EVENTS_READ))}&since=${since}`, token);
    if (r.httpStatus !== 200) {
      process.stderr.write(`understudy: events unavailable (HTTP ${r.httpStatus}): ${replyMessage(r)}\n`);
      return r.httpStatus === 400 ? EXIT.usage : EXIT.refused;
    }
    const events = r.body.events as TransitionEvent[];
    process.stdout.write(opts.json ? `${JSON.stringify(events, null, 2)}\n` : `${formatEvents(events)}\n`);
    return EXIT.ok;
  },
  [
    new Option('-s, --since <when>', 'only transitions since then: a duration back (90s, 15m, 2h, 1d) or a date'),
    new Option('-n, --limit <count>', `read at most this many of the newest transitions (1-1000, default ${DEFAULT_EVENTS_READ})`),
  ],
);

for (const [name, description] of [
  ['failback', 'move ownership back to the configured primary'],
  ['switchover', 'move ownership to the node that does not own it'],
] as const) {
  adminCommand(name, description, async ({ url, token }, opts) => {
    const r = await callAdmin(url, 'POST', `/${name}`, token);
    const msg = replyMessage(r);
    if (opts.json) process.stdout.write(`${JSON.stringify(r.body, null, 2)}\n`);
    else if (r.httpStatus === 200) process.stdout.write(`${r.body.changed ? `${name} done` : 'nothing to do'}: ${msg}\n`);
    else process.stderr.write(`understudy: ${name} refused (HTTP ${r.httpStatus}): ${msg}\n`);
    return r.httpStatus === 200 ? EXIT.ok : EXIT.refused;
  });
}

program.parseAsync(process.argv).catch((err: unknown) => fail(EXIT.refused, err instanceof Error ? err.message : String(err)));
