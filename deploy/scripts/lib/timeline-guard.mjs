// A guard the kit adds to pg_auto_failover 2.0's monitor: an election never trusts the LSN of a
// node that reports an older timeline than another node of its group.
//
// Why (src/monitor/group_state_machine.c, BuildCandidateList and the election after it): a former
// primary that is back in state demoted before it was rewound is pulled into report_lsn like any
// standby, and the most advanced LSN wins, compared without timelines. Its LSN on the old
// timeline includes WAL the new primary never had (commits it took while cut off), so it can win,
// be promoted on the dead timeline and take every write acknowledged on the newer one with it.
// Seen in the lab: the old primary isolated, its successor powered off, the old primary back:
// promoted on timeline 1 over a standby on timeline 2. Fixed upstream after 2.2 (timeline
// ancestry in elections, hapostgres/pg_auto_failover#1161); 2.0 only has this table to act on.
//
// Priority comes before LSN in the election, so such a node can also be selected with a lower
// LSN and then be told to fast-forward from a node on the newer timeline, which it can never do:
// the election hangs, no primary at all (also seen in the lab).
//
// The guard: while a node is in report_lsn on a timeline older than another node of its group,
// its report is stored as LSN 0/0 and Postgres not running, so it is neither selected (an
// unhealthy candidate is skipped) nor the most advanced node others fetch WAL from. It then
// follows the new primary like the others; if its WAL went past the fork it cannot stream, and
// status.mjs names it for rejoin.mjs: a stuck node instead of lost writes or no primary.

import { createHash } from 'node:crypto'

export const GUARD_NAME = 'pgha_kit_timeline_guard'

const BODY = `
declare
  newest_other_tli int;
begin
  if new.reportedstate = 'report_lsn' then
    select max(reportedtli) into newest_other_tli
      from pgautofailover.node
     where formationid = new.formationid and groupid = new.groupid and nodeid <> new.nodeid;
    if newest_other_tli is not null and new.reportedtli < newest_other_tli then
      new.reportedlsn := '0/0';
      new.reportedpgisrunning := false;
    end if;
  end if;
  return new;
end
`

/** Installs (or replaces) the guard; idempotent. */
export const TIMELINE_GUARD_SQL = `
create or replace function pgautofailover.${GUARD_NAME}() returns trigger language plpgsql as $guard$${BODY}$guard$;
comment on function pgautofailover.${GUARD_NAME}() is 'pg-ha-kit: a node in report_lsn on an older timeline than another node never wins an election';
drop trigger if exists ${GUARD_NAME} on pgautofailover.node;
create trigger ${GUARD_NAME} before insert or update on pgautofailover.node
  for each row execute function pgautofailover.${GUARD_NAME}();
`

/** One row, {installed}: the trigger is there and runs this version's function. */
export const TIMELINE_GUARD_CHECK_SQL = `
select count(*) = 1 as installed
  from pg_trigger t join pg_proc p on p.oid = t.tgfoid
 where t.tgrelid = 'pgautofailover.node'::regclass and t.tgname = '${GUARD_NAME}' and t.tgenabled = 'O'
   and md5(p.prosrc) = '${createHash('md5').update(BODY).digest('hex')}'`
