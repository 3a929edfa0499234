// The lab cluster helpers the TypeScript suites share (see deploy/test/support).
export * from '../../../../deploy/test/support/lab-cluster-cli.js'
