# shellcheck shell=bash disable=SC2034  # the variables are for the scripts that source this
# Shared by start.sh / stop.sh / kill.sh. Sourced, not run.
#
# Env (all optional):
#   KAFKA_PORT              client listener port            (default 9092)
#   KAFKA_CONTROLLER_PORT   KRaft controller listener port  (default 9093)
#   KAFKA_RUN_DIR           config, data, pid, log          (default tools/kafka/run)
#   KAFKA_HEAP_OPTS         JVM heap                        (default -Xms256m -Xmx512m)
#   KAFKA_READY_TIMEOUT     seconds start.sh waits          (default 90)
#   KAFKA_STOP_TIMEOUT      seconds before SIGKILL          (default 20)

KAFKA_TOOL_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
KAFKA_LIB_DIR="$KAFKA_TOOL_DIR/lib"
KAFKA_RUN_DIR="${KAFKA_RUN_DIR:-$KAFKA_TOOL_DIR/run}"
KAFKA_PORT="${KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-9093}"
KAFKA_DATA_DIR="$KAFKA_RUN_DIR/data"
KAFKA_PID_FILE="$KAFKA_RUN_DIR/kafka.pid"
KAFKA_LOG_FILE="$KAFKA_RUN_DIR/kafka.log"
KAFKA_CONFIG="$KAFKA_RUN_DIR/server.properties"

kafka_say() { echo "kafka: $*"; }
kafka_die() { echo "kafka: error: $*" >&2; exit 1; }

# Prints the broker pid if the pid file names a live kafka.Kafka process of this run dir.
# Clears a stale pid file (e.g. after kill.sh or a reboot). Returns 1 when not running.
kafka_running_pid() {
  [[ -f "$KAFKA_PID_FILE" ]] || return 1
  local pid
  pid="$(tr -dc '0-9' <"$KAFKA_PID_FILE")"
  if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null \
     && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF "kafka.Kafka $KAFKA_CONFIG"; then
    echo "$pid"
    return 0
  fi
  rm -f "$KAFKA_PID_FILE"
  return 1
}

# Waits until pid is gone; returns 1 on timeout.
kafka_wait_gone() {
  local pid="$1" secs="$2" i
  for ((i = 0; i < secs * 10; i++)); do
    kill -0 "$pid" 2>/dev/null || return 0
    # a zombie (child of this shell) counts as gone
    [[ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" == Z ]] && return 0
    sleep 0.1
  done
  return 1
}
