// The contract of a transport (netns, ssh, and the dry run's recorder): how a command or a
// service reaches a host. The scripts and the runtimes use a transport through nothing else.

/**
 * An inventory host (the monitor or a node); a transport reads the keys it needs (labVm, ssh).
 * @typedef {import('../inventory.mjs').InventoryHost} Host
 * @typedef {{exitCode: number, stdout: string, stderr: string}} CommandResult
 * @typedef {object} RunOptions
 * @property {string} [user] who the command runs as (the login user, or root, when absent)
 * @property {Record<string, string>} [env] added to the command's environment; on its command line, so never a secret
 * @property {string} [input] stdin: where secrets go
 * @property {string} [inputLabel] where a long stdin comes from, shown instead of it by --check
 * @typedef {{name: string, user: string, argv: string[], env?: Record<string, string>}} ServiceSpec
 */

/**
 * @typedef {object} Transport
 * @property {string} name the inventory's `transport`
 * @property {(host: Host) => string} describe how a command reaches the host, for --check
 * @property {(host: Host) => string} describeReachability what ensureReachable checks, for --check
 * @property {(spec: ServiceSpec) => string} describeService what ensureService sets up, for --check
 * @property {(hosts: Host[]) => Promise<void>} ensureReachable throws naming every host that cannot be used
 * @property {(host: Host, argv: string[], options?: RunOptions) => Promise<CommandResult>} run never throws for a command's failure: see exitCode
 * @property {(host: Host, spec: ServiceSpec) => Promise<boolean>} ensureService installs the service, started if not running; whether it was started now
 * @property {(host: Host, name: string) => Promise<boolean>} serviceRunning
 * @property {(host: Host, name: string) => Promise<boolean>} stopService whether it was running
 * @property {(host: Host, name: string) => Promise<void>} removeService stops it and forgets it
 * @property {() => Promise<void>} [close] releases what the transport holds open (also done at exit)
 */

/**
 * @typedef {(inventory: import('../inventory.mjs').Inventory, options?: {dryRun?: boolean}) => Transport} TransportFactory
 *   dryRun: validate, create nothing on this machine
 */

export {}
