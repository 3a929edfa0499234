#!/bin/sh
# pg-ha-kit service supervisor for transport "ssh", run on the host as root through
# `sh -c "<this file>" pgha-service <action> <dir> <name> <user> [command...]`:
#   ensure   install the service (a systemd unit read from stdin) and start it unless running;
#            prints "started" or "running"
#   running  prints "running" or "stopped"
#   stop     prints "stopped-now" (it was running) or "stopped"
#   remove   stop it and forget it
# systemd when it runs on the host; else setsid + nohup, with a pid file in <dir> (root's, 0700:
# a pid file the service user could rewrite would let it have root signal any process) holding
# "pid starttime", so a recycled pid is never mistaken for the service.
set -u
action=$1 dir=$2 name=$3 user=$4
shift 4
pidfile=$dir/$name.pid
unit=/etc/systemd/system/$name.service
running() {
  [ -r "$pidfile" ] || return 1
  read -r pid start < "$pidfile" || return 1
  stat=$(cat "/proc/$pid/stat" 2>/dev/null) || return 1
  # The fields after the command name (which may hold spaces): state first, starttime 20th.
  # shellcheck disable=SC2046 # splitting them into words is the point
  set -- $(echo "$stat" | sed 's/.*) //')
  [ "$1" != Z ] || return 1
  shift 19
  [ "$1" = "$start" ]
}
stop_plain() {
  running || return 1
  kill -s TERM "$pid" 2>/dev/null
  i=0
  while running && [ "$i" -lt 150 ]; do sleep 0.2; i=$((i + 1)); done
  # Still there after 30 s: kill its whole session (setsid made the service its leader).
  if running; then kill -s KILL -- "-$pid" 2>/dev/null || kill -s KILL "$pid"; fi
  # Until init reaps it, a zombie keeps its pid, and a keeper started again at once would take
  # its own old pid file for a live one.
  i=0
  while [ -e "/proc/$pid" ] && [ "$i" -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
  return 0
}
if [ -d /run/systemd/system ]; then
  case $action in
    ensure)
      tmp=$(mktemp "$unit.XXXXXX") && cat > "$tmp" && chmod 644 "$tmp" || exit 1
      changed=0
      if cmp -s "$tmp" "$unit"; then rm -f "$tmp"; else { mv "$tmp" "$unit" && systemctl daemon-reload && changed=1; } || exit 1; fi
      systemctl enable --quiet "$name.service" || exit 1
      if systemctl is-active --quiet "$name.service"; then
        [ "$changed" = 1 ] || { echo running; exit 0; }
        systemctl restart "$name.service" && echo started
      else
        systemctl start "$name.service" && echo started
      fi ;;
    running) if systemctl is-active --quiet "$name.service"; then echo running; else echo stopped; fi ;;
    stop) if systemctl is-active --quiet "$name.service"; then systemctl stop "$name.service" && echo stopped-now; else echo stopped; fi ;;
    remove)
      systemctl stop "$name.service" 2>/dev/null
      systemctl disable --quiet "$name.service" 2>/dev/null
      rm -f "$unit" && systemctl daemon-reload ;;
  esac
  exit
fi
umask 077
case $action in
  ensure)
    cat > /dev/null
    mkdir -p "$dir" && chown root:root "$dir" && chmod 700 "$dir" || exit 1
    if running; then echo running; exit 0; fi
    rm -f "$pidfile"
    if [ "$user" != root ]; then set -- setpriv --reuid="$user" --regid="$(id -g "$user")" --init-groups --reset-env "$@"; fi
    cd / || exit 1
    # The child records its own pid and start time, then becomes the service (exec all the way).
    # shellcheck disable=SC2016 # the child's shell expands these, not this one
    setsid sh -c 'echo "$$ $(cut -d" " -f22 /proc/$$/stat)" > "$1.new" && mv "$1.new" "$1"; umask 022; shift; exec nohup "$@"' \
      pgha-service "$pidfile" "$@" < /dev/null >> "$dir/$name.log" 2>&1 &
    i=0
    while [ ! -s "$pidfile" ] && [ "$i" -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
    [ -s "$pidfile" ] || { echo "$name did not start, see $dir/$name.log" >&2; exit 1; }
    echo started ;;
  running) if running; then echo running; else echo stopped; fi ;;
  stop) if stop_plain; then echo stopped-now; else echo stopped; fi ;;
  remove) stop_plain; rm -f "$pidfile" ;;
esac
