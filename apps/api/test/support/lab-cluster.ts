// The lab cluster helpers every package's suites share.
export * from '@pg-ha/deploy/testing'
