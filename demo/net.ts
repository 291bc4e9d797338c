/**
 * The demo's network: its own /24 of loopback (127.0.5.x unless
 * UNDERSTUDY_DEMO_NET says otherwise), so it never meets a test run's fixed SIP
 * ports. Imported first by run.ts: the test topology reads it as it loads.
 */
process.env.UNDERSTUDY_TEST_NET = process.env.UNDERSTUDY_DEMO_NET ?? '127.0.5';
