#!/usr/bin/env bash
# Stops the broker started by start.sh: SIGTERM (controlled shutdown), SIGKILL after
# KAFKA_STOP_TIMEOUT (20) seconds. Exits 0 when it was not running.
set -euo pipefail
# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

if ! pid="$(kafka_running_pid)"; then
  kafka_say "not running"
  exit 0
fi
kill -TERM "$pid" 2>/dev/null || true
if kafka_wait_gone "$pid" "${KAFKA_STOP_TIMEOUT:-20}"; then
  kafka_say "stopped (pid $pid)"
else
  kill -KILL "$pid" 2>/dev/null || true
  kafka_wait_gone "$pid" 10 || kafka_die "pid $pid survived SIGKILL"
  kafka_say "killed (pid $pid) after ${KAFKA_STOP_TIMEOUT:-20}s without a clean shutdown"
fi
rm -f "$KAFKA_PID_FILE"
