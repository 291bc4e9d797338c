/** The smallest valid config of a secondary with its peer and Redis, as a YAML file would give it. */
export const minimalConfig = () => ({
  node: { id: 'node-b', role: 'secondary' },
  peer: { id: 'node-a', uri: 'sip:127.0.0.12:5060' },
  drachtio: { secret: 'Dr4chtioTest9' },
  ipbx: {
    registrar: 'sip:127.0.0.20:5060',
    aor: 'sip:appsrv@127.0.0.20',
    contact: 'sip:appsrv@127.0.0.11:5060',
    username: 'appsrv',
    password: 'Tq7vLm2pXa',
    addresses: ['127.0.0.21'],
  },
  app: { target: 'sip:app@127.0.0.30:5080' },
  redis: { url: 'redis://127.0.0.1:6379' },
});

/** The same node alone: no peer, no Redis. */
export const singleNodeConfig = () => {
  const { peer: _peer, redis: _redis, ...rest } = minimalConfig();
  return { ...rest, node: { id: 'solo', role: 'primary' } };
};
