#!/usr/bin/env bash
# SIGKILLs the broker: a crash, for tests. The data dir stays; start.sh restarts on it
# (Kafka recovers the logs after the unclean shutdown). Exits 0 when it was not running.
set -euo pipefail
# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

if ! pid="$(kafka_running_pid)"; then
  kafka_say "not running"
  exit 0
fi
kill -KILL "$pid" 2>/dev/null || true
kafka_wait_gone "$pid" 10 || kafka_die "pid $pid survived SIGKILL"
rm -f "$KAFKA_PID_FILE"
kafka_say "killed -9 (pid $pid)"
