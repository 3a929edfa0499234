#!/bin/bash
# pg-ha-kit keeper guard: runs a data node's keeper (the command after --) and rewinds the node
# when it is stuck following a new primary from a timeline that forked under it.
#
# Why: pg_auto_failover 2.0 takes a node that comes back during a failover through
# report_lsn -> join_secondary -> secondary (src/bin/pg_autoctl/fsm.c, fsm_follow_new_primary)
# without pg_rewind. A former primary whose WAL went past the fork can never stream from the new
# primary ("requested starting point ... is ahead of the WAL flush position"): it stays in
# join_secondary for good. Fixed upstream after 2.2 (hapostgres/pg_auto_failover#1161).
#
# What it does, every CHECK_INTERVAL seconds: asks the monitor whether this node reports
# join_secondary on an older timeline than the group's primary. Seen for STUCK_AFTER seconds in a
# row, it stops the keeper (which stops Postgres), runs pg_rewind against that primary (the
# rewind pg_autoctl itself does on demoted -> catchingup) and starts the keeper again, which then
# follows the primary. pg_rewind only ever makes this node a copy of the primary's history: it
# cannot make a second primary. After a rewind that did not help, the next attempt waits
# RETRY_AFTER seconds; after a failed one, STUCK_AFTER seconds.
#
# The guard exits when the keeper exits, with its status, so the service manager restarts both as
# it restarted the keeper alone; SIGTERM/SIGINT stop the keeper and then the guard.
#
# usage: keeper-guard <pgdata> -- <keeper command...>
set -u

CHECK_INTERVAL=${PGHA_GUARD_CHECK_INTERVAL:-5}
STUCK_AFTER=${PGHA_GUARD_STUCK_AFTER:-30}
RETRY_AFTER=${PGHA_GUARD_RETRY_AFTER:-300}
STOP_AFTER=10

if [ $# -lt 3 ] || [ "$2" != "--" ]; then
  echo "usage: keeper-guard <pgdata> -- <keeper command...>" >&2
  exit 2
fi
PGDATA=$1
shift 2

log() { echo "$(date -u '+%Y-%m-%d %H:%M:%S') keeper-guard: $*" >&2; }

keeper=0
# In a process group of its own: pg_autoctl signals its whole process group when its subprocesses
# are slow to stop (supervisor.c, supervisor_signal_process_group), and the guard must not be in it.
start_keeper() { setsid "$@" & keeper=$!; }
# pg_autoctl's own escalation (pg_autoctl stop, --fast, --immediate): SIGTERM, SIGINT, SIGQUIT,
# STOP_AFTER seconds each; a keeper stuck restarting a Postgres that cannot start can ignore the
# first. SIGKILL last, to its whole process group.
stop_keeper() {
  local signal waited
  if [ "$keeper" -gt 0 ]; then
    for signal in TERM INT QUIT KILL; do
      kill -0 "$keeper" 2>/dev/null || break
      [ "$signal" = KILL ] && kill -KILL -- "-$keeper" 2>/dev/null
      kill -"$signal" "$keeper" 2>/dev/null
      waited=0
      while kill -0 "$keeper" 2>/dev/null && [ "$waited" -lt "$((STOP_AFTER * 2))" ]; do
        sleep 0.5
        waited=$((waited + 1))
      done
      kill -0 "$keeper" 2>/dev/null && log "the keeper is still running ${STOP_AFTER}s after SIG$signal"
    done
    wait "$keeper" 2>/dev/null
  fi
  keeper=0
}
trap 'stop_keeper; exit 0' TERM INT

setting() { pg_autoctl config get --pgdata "$PGDATA" "$1" 2>/dev/null; }

# Prints "<primary host> <primary port> <primary timeline> <own timeline>" when this node reports
# join_secondary (goal secondary) on an older timeline than its group's settled primary.
stuck_behind_fork() {
  local monitor name formation
  monitor=$(setting pg_autoctl.monitor) && name=$(setting pg_autoctl.name) && formation=$(setting pg_autoctl.formation) || return 1
  # A monitor that does not answer must not hold the loop (and so a SIGTERM) for long.
  PGCONNECT_TIMEOUT=5 psql -X -A -t -F ' ' -v ON_ERROR_STOP=1 -v name="$name" -v formation="$formation" -d "$monitor" 2>/dev/null <<'SQL'
select p.nodehost, p.nodeport, p.reportedtli, me.reportedtli
  from pgautofailover.node me
  join pgautofailover.node p
    on p.formationid = me.formationid and p.groupid = me.groupid and p.nodeid <> me.nodeid
 where me.formationid = :'formation' and me.nodename = :'name'
   and me.reportedstate = 'join_secondary' and me.goalstate in ('join_secondary', 'secondary')
   and p.reportedstate in ('primary', 'wait_primary', 'single') and p.goalstate = p.reportedstate
   and p.reportedtli > me.reportedtli
SQL
}

rewind_from() {
  local host=$1 port=$2 sslmode source out
  sslmode=$(setting ssl.sslmode)
  source="host=$host port=$port user=pgautofailover_replicator dbname=postgres connect_timeout=5 application_name=pgha_keeper_guard${sslmode:+ sslmode=$sslmode}"
  if out=$(pg_rewind --target-pgdata="$PGDATA" --source-server="$source" 2>&1); then
    log "pg_rewind: $(echo "$out" | tail -n 1)"
    return 0
  fi
  case $out in
    *"shut down cleanly"*)
      # As pg_autoctl does before pg_rewind: one round of crash recovery, outside standby mode.
      log "Postgres was not shut down cleanly: crash recovery first"
      [ -f "$PGDATA/standby.signal" ] && mv "$PGDATA/standby.signal" "$PGDATA/standby.signal.pgha-guard"
      postgres --single -D "$PGDATA" postgres </dev/null >/dev/null 2>&1
      [ -f "$PGDATA/standby.signal.pgha-guard" ] && mv "$PGDATA/standby.signal.pgha-guard" "$PGDATA/standby.signal"
      if out=$(pg_rewind --target-pgdata="$PGDATA" --source-server="$source" 2>&1); then
        log "pg_rewind: $(echo "$out" | tail -n 1)"
        return 0
      fi
      ;;
  esac
  log "pg_rewind failed: $(echo "$out" | tr '\n' ' ')"
  return 1
}

start_keeper "$@"
log "started the keeper (pid $keeper) for $PGDATA"
stuck_for=0
next_attempt=0
while true; do
  sleep "$CHECK_INTERVAL" &
  wait $! 2>/dev/null
  if ! kill -0 "$keeper" 2>/dev/null; then
    wait "$keeper"
    status=$?
    log "the keeper exited ($status)"
    exit "$status"
  fi
  if found=$(stuck_behind_fork) && [ -n "$found" ]; then
    stuck_for=$((stuck_for + CHECK_INTERVAL))
  else
    stuck_for=0
    continue
  fi
  now=$(date +%s)
  if [ "$stuck_for" -lt "$STUCK_AFTER" ] || [ "$now" -lt "$next_attempt" ]; then
    continue
  fi
  read -r primary_host primary_port primary_tli own_tli <<<"$(echo "$found" | head -n 1)"
  log "in join_secondary on timeline $own_tli for ${stuck_for}s while the primary $primary_host:$primary_port is on timeline $primary_tli: stopping the keeper to rewind"
  stop_keeper
  if pg_ctl status -D "$PGDATA" >/dev/null 2>&1; then pg_ctl stop -D "$PGDATA" -m fast -w -t 30 >/dev/null 2>&1 || pg_ctl stop -D "$PGDATA" -m immediate -w >/dev/null 2>&1; fi
  log "the keeper is stopped: rewinding from $primary_host:$primary_port"
  if rewind_from "$primary_host" "$primary_port"; then
    next_attempt=$(($(date +%s) + RETRY_AFTER))
  else
    next_attempt=$(($(date +%s) + STUCK_AFTER))
  fi
  stuck_for=0
  start_keeper "$@"
  log "started the keeper again (pid $keeper)"
done
