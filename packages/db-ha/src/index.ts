// The multi-host, failover-aware connection layer over `pg` lands here (see the db-ha issue).
export {};
