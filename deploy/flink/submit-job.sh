#!/usr/bin/env bash
# Submits the collector job to a Flink session cluster, at most once, resuming from where it stopped.
# Used by docker-compose's submitter service and by the cluster tests (cluster-tests/), so what compose
# runs is what CI tested.
#
# Environment:
#   FLINK_CLI       command that runs Flink's CLI (default: flink)
#   JOB_JAR         the job's shaded jar (required)
#   JOB_NAME        the job's name on the cluster (default: collector)
#   CHECKPOINT_DIR  where the cluster retains checkpoints (state.checkpoints.dir; a path or file:// URI)
#   SAVEPOINT_DIR   where savepoints go (state.savepoints.dir; a path or file:// URI)
#   JOB_ARGS        extra program arguments, split on whitespace (e.g. "--mqtt.server tcp://mqtt:1883")
#   PARALLELISM     optional parallelism for a submission
#   LIST_ATTEMPTS   how often to try `flink list` before giving up (default: 5)
#   RETRY_DELAY     seconds between those attempts (default: 3)
#
# Behaviour:
#   - a job of that name is RUNNING, CREATED, INITIALIZING or RESTARTING: nothing to do (exit 0);
#   - the cluster cannot be asked (`flink list` keeps failing) or a job of that name is between states
#     (CANCELLING, FAILING, ...): exit non-zero without submitting, never a second copy of the job;
#   - otherwise submit detached, from the newest retained checkpoint or savepoint that is complete (has
#     a _metadata file), else from scratch.
# Prints one line saying what it did and why.
set -euo pipefail

FLINK_CLI=${FLINK_CLI:-flink}
JOB_NAME=${JOB_NAME:-collector}
CHECKPOINT_DIR=${CHECKPOINT_DIR:-}
SAVEPOINT_DIR=${SAVEPOINT_DIR:-}
JOB_ARGS=${JOB_ARGS:-}
PARALLELISM=${PARALLELISM:-}
LIST_ATTEMPTS=${LIST_ATTEMPTS:-5}
RETRY_DELAY=${RETRY_DELAY:-3}

say() { echo "submit-job: $*"; }

if [ -z "${JOB_JAR:-}" ] || [ ! -f "$JOB_JAR" ]; then
  say "not submitted: JOB_JAR '${JOB_JAR:-}' is not a file" >&2
  exit 2
fi

# The states of every job named $JOB_NAME that the cluster has not finished with, one per line.
# `flink list` prints "<date> : <job id> : <name> (<STATE>)" for running and scheduled jobs.
active_states() {
  local listing
  listing=$($FLINK_CLI list 2>&1) || return 1
  printf '%s\n' "$listing" | sed -n -E "s/^.* : [0-9a-f]{32} : (.*) \(([A-Z_]+)\)\$/\1\t\2/p" |
    awk -F '\t' -v name="$JOB_NAME" '$1 == name { print $2 }'
}

states=""
listed=false
for attempt in $(seq 1 "$LIST_ATTEMPTS"); do
  if states=$(active_states); then
    listed=true
    # A job between states (cancelling, failing) will settle: ask again rather than race it.
    if ! printf '%s\n' "$states" | grep -q -E '^(CANCELLING|FAILING|SUSPENDED|RECONCILING)$'; then
      break
    fi
  fi
  if [ "$attempt" -lt "$LIST_ATTEMPTS" ]; then
    sleep "$RETRY_DELAY"
  fi
done

if [ "$listed" != true ]; then
  say "not submitted: 'flink list' failed $LIST_ATTEMPTS times, so whether '$JOB_NAME' runs is unknown" >&2
  exit 1
fi
for state in RUNNING CREATED INITIALIZING RESTARTING; do
  if printf '%s\n' "$states" | grep -q -x "$state"; then
    say "nothing to do: job '$JOB_NAME' is already $state"
    exit 0
  fi
done
if [ -n "$states" ]; then
  say "not submitted: job '$JOB_NAME' is still $(printf '%s' "$states" | tr '\n' ' ')after $LIST_ATTEMPTS attempts" >&2
  exit 1
fi

# The newest complete snapshot: a retained checkpoint (<dir>/<job id>/chk-N/_metadata) or a savepoint
# (<dir>/savepoint-*/_metadata). A checkpoint directory without _metadata was cut short.
newest_snapshot() {
  local dir
  for dir in "$@"; do
    dir=${dir#file://}
    [ -n "$dir" ] && [ -d "$dir" ] || continue
    find "$dir" -maxdepth 3 -type f -name _metadata -printf '%T@ %h\n' 2>/dev/null
  done | sort -n -k1,1 | tail -n 1 | cut -d ' ' -f 2-
}

snapshot=$(newest_snapshot "$CHECKPOINT_DIR" "$SAVEPOINT_DIR")
run_args=(run --detached)
if [ -n "$PARALLELISM" ]; then
  run_args+=(--parallelism "$PARALLELISM")
fi
if [ -n "$snapshot" ]; then
  run_args+=(--fromSavepoint "$snapshot")
  why="resuming from $snapshot, the newest complete checkpoint or savepoint"
else
  why="starting fresh: no complete checkpoint or savepoint${CHECKPOINT_DIR:+ in $CHECKPOINT_DIR}${SAVEPOINT_DIR:+ or $SAVEPOINT_DIR}"
fi
# JOB_ARGS is split on whitespace on purpose: it carries several arguments.
# shellcheck disable=SC2086
if output=$($FLINK_CLI "${run_args[@]}" -Dpipeline.name="$JOB_NAME" "$JOB_JAR" $JOB_ARGS 2>&1); then
  job_id=$(printf '%s\n' "$output" | sed -n -E 's/.*JobID ([0-9a-f]{32}).*/\1/p' | tail -n 1)
  say "submitted job '$JOB_NAME'${job_id:+ as $job_id}${PARALLELISM:+ at parallelism $PARALLELISM}: $why"
else
  status=$?
  printf '%s\n' "$output" >&2
  say "submission of '$JOB_NAME' failed (exit $status): $why" >&2
  exit "$status"
fi
