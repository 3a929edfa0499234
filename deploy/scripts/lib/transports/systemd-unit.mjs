// The systemd unit transport "ssh" installs for a service, like the one `pg_autoctl show
// systemd` prints.

/**
 * systemd's quoting for a word of a unit setting: no specifier (%) expansion, and in ExecStart=
 * no variable ($) expansion either.
 * @param {string} word @param {{dollars?: boolean}} [options]
 */
function unitQuote(word, { dollars = false } = {}) {
  const escaped = word.replaceAll('\\', '\\\\').replaceAll('"', '\\"').replaceAll('%', '%%')
  return `"${dollars ? escaped.replaceAll('$', '$$$$') : escaped}"`
}

/**
 * A unit like the one `pg_autoctl show systemd` prints, for any service spec.
 * @param {import('./transport.mjs').ServiceSpec} spec
 */
export function systemdUnit(spec) {
  for (const word of [...spec.argv, ...Object.entries(spec.env ?? {}).flat()]) {
    if (/[\n\r\0]/.test(word)) throw new Error(`service ${spec.name}: a line break cannot go into a systemd unit`)
  }
  const env = Object.entries(spec.env ?? {}).map(([k, v]) => `Environment=${unitQuote(`${k}=${v}`)}`)
  return [
    '# Written by pg-ha-kit (transport ssh), like `pg_autoctl show systemd` prints it.',
    '[Unit]',
    `Description=${spec.name} (pg-ha-kit)`,
    'After=network-online.target',
    'Wants=network-online.target',
    'StartLimitIntervalSec=0',
    '',
    '[Service]',
    `User=${spec.user}`,
    'WorkingDirectory=~',
    ...env,
    // env resolves the program on the unit's PATH, as the lab and the plain services do.
    `ExecStart=/usr/bin/env ${spec.argv.map((word) => unitQuote(word, { dollars: true })).join(' ')}`,
    'ExecReload=/bin/kill -HUP $MAINPID',
    'Restart=always',
    'RestartSec=1',
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n')
}
