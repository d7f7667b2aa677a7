#!/usr/bin/env bash
# Starts a real single-node Apache Kafka broker (KRaft, broker+controller in one JVM)
# from Maven Central jars, without Docker. Idempotent:
#   - fetches the jars into tools/kafka/lib if missing (or if pom.xml changed),
#   - formats tools/kafka/run/data on first use only (a restart after kill.sh keeps the data),
#   - exits 0 with "already running" when the broker of this run dir is up.
# Usage: bash tools/kafka/start.sh [--fresh]     (--fresh: stop it and wipe the data first)
# Env: see common.sh (KAFKA_PORT, KAFKA_CONTROLLER_PORT, KAFKA_RUN_DIR, KAFKA_HEAP_OPTS,
#      KAFKA_READY_TIMEOUT). Prints "kafka: ready on 127.0.0.1:PORT" when it serves metadata.
set -euo pipefail
# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

FRESH=0
for arg in "$@"; do
  case "$arg" in
    --fresh) FRESH=1 ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) kafka_die "unknown argument: $arg (usage: start.sh [--fresh])" ;;
  esac
done

command -v java >/dev/null || kafka_die "java not found (Kafka 4.x needs Java 17+)"
java_major="$(java -XshowSettings:properties -version 2>&1 | awk -F'= ' '/java.specification.version/ {print $2}')"
[[ "${java_major%%.*}" -ge 17 ]] 2>/dev/null || kafka_die "Java $java_major found; Kafka 4.x needs 17+"

mkdir -p "$KAFKA_RUN_DIR"
# One start.sh at a time per run dir (parallel test workers may all call it).
exec 9>"$KAFKA_RUN_DIR/.start.lock"
flock -w 180 9 || kafka_die "another start.sh holds $KAFKA_RUN_DIR/.start.lock"

# True when something answers TCP on 127.0.0.1:$1.
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# True when a broker on $KAFKA_PORT answers a metadata request.
broker_serves_metadata() {
  if command -v kcat >/dev/null; then
    # -m: metadata timeout (s). A serving broker lists itself as "broker 1 at 127.0.0.1:PORT".
    kcat -b "127.0.0.1:$KAFKA_PORT" -L -m 3 2>/dev/null | grep -q "at 127.0.0.1:$KAFKA_PORT"
  else
    java -Xmx64m -cp "$KAFKA_LIB_DIR/*" -Dlog4j2.level=ERROR org.apache.kafka.tools.BrokerApiVersionsCommand \
      --bootstrap-server "127.0.0.1:$KAFKA_PORT" >/dev/null 2>&1
  fi
}

if [[ $FRESH == 1 ]]; then
  bash "$KAFKA_TOOL_DIR/stop.sh"
  rm -rf "$KAFKA_DATA_DIR"
  kafka_say "data wiped ($KAFKA_DATA_DIR)"
fi

if pid="$(kafka_running_pid)"; then
  if broker_serves_metadata; then
    kafka_say "already running (pid $pid)"
    kafka_say "ready on 127.0.0.1:$KAFKA_PORT"
    exit 0
  fi
  kafka_say "pid $pid is up but not serving yet; waiting"
else
  for p in "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT"; do
    if port_open "$p"; then
      if [[ $p == "$KAFKA_PORT" ]] && broker_serves_metadata; then
        kafka_say "a broker not started by this script already answers on 127.0.0.1:$KAFKA_PORT; using it"
        kafka_say "ready on 127.0.0.1:$KAFKA_PORT"
        exit 0
      fi
      kafka_die "port $p is taken by another process (set KAFKA_PORT / KAFKA_CONTROLLER_PORT)"
    fi
  done

  # --- jars -----------------------------------------------------------------------------
  pom_sum="$(sha256sum "$KAFKA_TOOL_DIR/pom.xml" | cut -d' ' -f1)"
  if ! compgen -G "$KAFKA_LIB_DIR/kafka_2.13-*.jar" >/dev/null \
     || [[ "$(cat "$KAFKA_LIB_DIR/.pom.sha256" 2>/dev/null)" != "$pom_sum" ]]; then
    command -v mvn >/dev/null || kafka_die "jars missing in $KAFKA_LIB_DIR and mvn not found"
    kafka_say "fetching jars (mvn dependency:copy-dependencies -> $KAFKA_LIB_DIR)"
    t0=$SECONDS
    rm -rf "$KAFKA_LIB_DIR"
    mkdir -p "$KAFKA_RUN_DIR"
    if ! mvn -q -B -Dstyle.color=never -f "$KAFKA_TOOL_DIR/pom.xml" dependency:copy-dependencies \
         >"$KAFKA_RUN_DIR/mvn.log" 2>&1; then
      tail -n 30 "$KAFKA_RUN_DIR/mvn.log" >&2
      kafka_die "mvn could not fetch the Kafka jars (full output: $KAFKA_RUN_DIR/mvn.log)"
    fi
    echo "$pom_sum" >"$KAFKA_LIB_DIR/.pom.sha256"
    jars=("$KAFKA_LIB_DIR"/*.jar)
    kafka_say "jars fetched in $((SECONDS - t0))s (${#jars[@]} jars)"
  fi
  CP="$KAFKA_LIB_DIR/*"

  # --- config (rewritten every start: ports may change; the static voter list allows it) ---
  cat >"$KAFKA_CONFIG" <<PROPS
# written by tools/kafka/start.sh; edits are overwritten
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$KAFKA_DATA_DIR
num.partitions=3
default.replication.factor=1
min.insync.replicas=1
auto.create.topics.enable=true
delete.topic.enable=true
offsets.topic.replication.factor=1
offsets.topic.num.partitions=3
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=3
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
# After a kill -9 the controller refuses the new broker incarnation (DUPLICATE_BROKER_REGISTRATION)
# until the old one's session expires: 9 s by default, so a crash-restart took ~12 s. 4.5 s here.
broker.heartbeat.interval.ms=1000
broker.session.timeout.ms=4500
num.network.threads=2
num.io.threads=4
num.recovery.threads.per.data.dir=1
log.retention.hours=168
log.segment.bytes=67108864
PROPS

  cat >"$KAFKA_RUN_DIR/log4j2.xml" <<'XML'
<?xml version="1.0" encoding="UTF-8"?>
<!-- written by tools/kafka/start.sh: everything to stdout, which start.sh sends to kafka.log -->
<Configuration status="WARN">
  <Appenders>
    <Console name="out" target="SYSTEM_OUT">
      <PatternLayout pattern="[%d] %p %m (%c)%n"/>
    </Console>
  </Appenders>
  <Loggers>
    <Logger name="kafka.request.logger" level="WARN"/>
    <Logger name="state.change.logger" level="WARN"/>
    <Logger name="org.apache.kafka.clients" level="WARN"/>
    <Root level="INFO"><AppenderRef ref="out"/></Root>
  </Loggers>
</Configuration>
XML

  # --- storage: format once; a restart (also after kill -9) reuses the data --------------
  if [[ ! -f "$KAFKA_DATA_DIR/meta.properties" ]]; then
    rm -rf "$KAFKA_DATA_DIR"
    cluster_id="$(java -cp "$CP" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -n1)"
    [[ "$cluster_id" =~ ^[A-Za-z0-9_-]{22}$ ]] || kafka_die "StorageTool random-uuid gave '$cluster_id'"
    java -cp "$CP" -Dlog4j2.configurationFile="$KAFKA_RUN_DIR/log4j2.xml" \
      kafka.tools.StorageTool format -t "$cluster_id" -c "$KAFKA_CONFIG" >>"$KAFKA_LOG_FILE" 2>&1 \
      || { tail -n 20 "$KAFKA_LOG_FILE" >&2; kafka_die "storage format failed"; }
    kafka_say "formatted $KAFKA_DATA_DIR (cluster id $cluster_id)"
  fi

  # --- launch -----------------------------------------------------------------------------
  if [[ -f "$KAFKA_LOG_FILE" && $(stat -c %s "$KAFKA_LOG_FILE") -gt 52428800 ]]; then
    mv -f "$KAFKA_LOG_FILE" "$KAFKA_LOG_FILE.1"
  fi
  echo "===== start.sh $(date -Is) =====" >>"$KAFKA_LOG_FILE"
  # 9>&-: the broker must not inherit (and so hold) the start lock.
  # setsid: own session, so a Ctrl-C or a test runner killing its process group leaves it be.
  launcher=(nohup)
  command -v setsid >/dev/null && launcher+=(setsid)
  # shellcheck disable=SC2086
  "${launcher[@]}" java ${KAFKA_HEAP_OPTS:--Xms256m -Xmx512m} \
    -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$KAFKA_RUN_DIR/log4j2.xml" \
    -cp "$CP" kafka.Kafka "$KAFKA_CONFIG" </dev/null >>"$KAFKA_LOG_FILE" 2>&1 9>&- &
  pid=$!
  echo "$pid" >"$KAFKA_PID_FILE"
  kafka_say "starting (pid $pid, log $KAFKA_LOG_FILE)"
fi

# --- wait until it serves metadata ----------------------------------------------------------
t0=$SECONDS
timeout="${KAFKA_READY_TIMEOUT:-90}"
while :; do
  if ! kill -0 "$pid" 2>/dev/null; then
    rm -f "$KAFKA_PID_FILE"
    tail -n 30 "$KAFKA_LOG_FILE" >&2
    kafka_die "broker exited during start-up (see $KAFKA_LOG_FILE)"
  fi
  if port_open "$KAFKA_PORT" && broker_serves_metadata; then
    break
  fi
  if ((SECONDS - t0 >= timeout)); then
    tail -n 30 "$KAFKA_LOG_FILE" >&2
    kafka_die "not serving metadata on 127.0.0.1:$KAFKA_PORT after ${timeout}s (pid $pid left running; stop.sh stops it)"
  fi
  sleep 0.5
done
kafka_say "up after $((SECONDS - t0))s (pid $pid)"
kafka_say "ready on 127.0.0.1:$KAFKA_PORT"
