#!/usr/bin/env bash
# Runs a command as a child that dies with the test JVM: the JVM holds this script's standard input
# open, so when the JVM exits (even by SIGKILL) the pipe closes, `cat` returns and the child is
# killed. Usage: tethered.sh PIDFILE OUTFILE COMMAND...
set -u
pid_file=$1
out_file=$2
shift 2
# Background jobs of a script read /dev/null unless told otherwise: keep the pipe as fd 3.
exec 3<&0
"$@" </dev/null 3<&- >>"$out_file" 2>&1 &
child=$!
echo "$child" >"$pid_file"
(
  cat <&3 >/dev/null
  kill -KILL "$child" 2>/dev/null
) &
watcher=$!
wait "$child"
status=$?
kill "$watcher" 2>/dev/null
exit "$status"
