#!/usr/bin/env bash
# A real single-node Apache Kafka broker (KRaft, combined broker+controller)
# for tests, on loopback, with everything it writes under one directory.
#
#   broker.sh start     DIR [--port N]  format storage, start, wait until it answers
#   broker.sh stop      DIR             stop it; no process is left behind
#   broker.sh status    DIR             exit 0 if running and answering, else 1
#   broker.sh bootstrap DIR             print host:port of the broker
#
# Files under DIR (other tools may read the first ones):
#   bootstrap          "127.0.0.1:PORT", written once the broker answers
#   classpath          the broker's Java classpath (resolved with tests/kafka/pom.xml)
#   java               path of the java binary used
#   pid                pid of the broker JVM; it leads its own process group
#   server.properties, log4j2.properties, data/ (log.dirs), logs/server.log
#
# The jars come from Maven Central through pom.xml beside this script and are
# cached in ~/.m2; the first start downloads them (tens of MB).
#
# Environment (all optional):
#   KAFKA_JAVA            java binary (default: $JAVA_HOME/bin/java, then java); needs 17+
#   KAFKA_START_TIMEOUT   seconds to wait for the broker to answer (default 90)
#   KAFKA_STOP_GRACE      seconds between SIGTERM and SIGKILL (default 20)
#   KAFKA_HEAP            JVM heap options (default "-Xms256m -Xmx1g")
#   MVN                   maven binary (default mvn)

set -Eeuo pipefail
# An unexpected failure must not be silent.
trap 'echo "broker.sh: failed at line $LINENO: $BASH_COMMAND" >&2' ERR

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
POM=$HERE/pom.xml
NODE_ID=1

die() {
    echo "broker.sh: $*" >&2
    exit 1
}

now_ms() {
    echo $(($(date +%s%N) / 1000000))
}

usage() {
    sed -n '2,9p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

# A port is taken if any socket (any state, any address, v4 or v6) uses it as
# its local port: this also avoids ports in TIME_WAIT that Kafka could not bind.
port_in_use() {
    local hex
    hex=$(printf '%04X' "$1")
    awk -v p=":$hex" 'NR > 1 && substr($2, length($2) - 4) == p { found = 1 } END { exit !found }' \
        /proc/net/tcp /proc/net/tcp6 2>/dev/null
}

# Kafka cannot listen on port 0 and report the port, so we pick one. We draw
# below the kernel's ephemeral range (32768+) so outgoing connections do not
# take it between our check and the broker's bind; a lost race still shows up
# as a bind error and start retries with new ports.
free_port() {
    local p i
    for i in $(seq 1 200); do
        p=$((20000 + (RANDOM * 32768 + RANDOM) % 12000))
        if ! port_in_use "$p" && [[ " ${TAKEN_PORTS:-} " != *" $p "* ]]; then
            echo "$p"
            return 0
        fi
    done
    die "no free TCP port found in 20000-31999"
}

find_java() {
    local java=${KAFKA_JAVA:-}
    if [[ -z $java && -n ${JAVA_HOME:-} && -x $JAVA_HOME/bin/java ]]; then
        java=$JAVA_HOME/bin/java
    fi
    java=${java:-java}
    command -v "$java" >/dev/null || die "java not found (install a JDK 17+ or set KAFKA_JAVA)"
    local major
    major=$("$java" -XshowSettings:properties -version 2>&1 |
        awk -F' = ' '/java.specification.version/ { print $2 }')
    [[ ${major%%.*} =~ ^[0-9]+$ && ${major%%.*} -ge 17 ]] ||
        die "$java is Java '${major:-?}'; Kafka 4.x brokers need Java 17 or newer"
    command -v "$java"
}

# Resolve the classpath once per pom content; re-resolve if ~/.m2 lost a jar.
resolve_classpath() {
    local dir=$1 sum
    sum=$(sha256sum "$POM" | cut -d' ' -f1)
    if [[ -s $dir/classpath && -f $dir/classpath.sum && $(cat "$dir/classpath.sum") == "$sum" ]]; then
        local jar ok=1
        IFS=: read -r -a jars <"$dir/classpath" || true  # no trailing newline
        for jar in "${jars[@]}"; do
            [[ -f $jar ]] || ok=0
        done
        ((ok)) && return 0
    fi
    local mvn=${MVN:-mvn}
    command -v "$mvn" >/dev/null || die "maven ($mvn) not found: it resolves the Kafka jars"
    echo "broker.sh: resolving Kafka jars with maven (first run downloads them)" >&2
    if ! "$mvn" -B -q -Dstyle.color=never -f "$POM" dependency:build-classpath \
        -Dmdep.outputFile="$dir/classpath.tmp" >"$dir/logs/mvn.log" 2>&1; then
        tail -n 30 "$dir/logs/mvn.log" >&2
        die "maven could not resolve the Kafka broker (log: $dir/logs/mvn.log)"
    fi
    mv "$dir/classpath.tmp" "$dir/classpath"
    echo "$sum" >"$dir/classpath.sum"
}

# A Kafka cluster id is 16 random bytes in URL-safe base64 without padding.
# Kafka's own generator avoids a leading '-' (it reads as an option).
random_cluster_id() {
    local id
    while :; do
        id=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')
        [[ $id != -* ]] && break
    done
    echo "$id"
}

write_config() {
    local dir=$1 port=$2 cport=$3
    cat >"$dir/server.properties" <<EOF
# Written by tests/kafka/broker.sh: one combined broker+controller on loopback.
process.roles=broker,controller
node.id=$NODE_ID
controller.quorum.bootstrap.servers=127.0.0.1:$cport
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$dir/data
# One node: every internal topic has a single replica.
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
min.insync.replicas=1
default.replication.factor=1
num.partitions=1
auto.create.topics.enable=true
delete.topic.enable=true
# Tests join groups often: no rebalance delay.
group.initial.rebalance.delay.ms=0
# Small files, short retention: tests write little and the dir is thrown away.
log.segment.bytes=1048576
log.retention.check.interval.ms=60000
num.network.threads=2
num.io.threads=4
EOF
    cat >"$dir/log4j2.properties" <<EOF
# Broker logs go to DIR/logs/server.log, never to the terminal.
status = error
appender.file.type = File
appender.file.name = FILE
appender.file.fileName = $dir/logs/server.log
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = FILE
logger.controller.name = org.apache.kafka.controller
logger.controller.level = WARN
logger.state.name = state.change.logger
logger.state.level = WARN
EOF
}

pid_alive() {
    local pid=$1
    [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null
}

# True if PID is our broker for DIR (guards against a recycled pid).
is_our_broker() {
    local pid=$1 dir=$2 cmd
    pid_alive "$pid" || return 1
    cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
    [[ $cmd == *kafka.Kafka* && $cmd == *"$dir/server.properties"* ]]
}

read_pid() {
    local dir=$1
    [[ -f $dir/pid ]] && cat "$dir/pid" || true
}

# Ask the broker for metadata; succeed only if it is our node at our address.
broker_answers() {
    local bootstrap=$1 out
    out=$(kcat -L -J -b "$bootstrap" -m 2 -X topic.metadata.refresh.interval.ms=-1 2>/dev/null) ||
        return 1
    [[ $out == *"\"brokers\":[{\"id\":$NODE_ID,\"name\":\"$bootstrap\"}]"* ]]
}

show_logs() {
    local dir=$1
    for f in "$dir/logs/stdout.log" "$dir/logs/server.log"; do
        if [[ -s $f ]]; then
            # Skip the config dumps (tab-indented "key = value" lines).
            echo "---- last lines of $f ----" >&2
            grep -v $'^\t' "$f" | tail -n 40 >&2 || true
        fi
    done
}

# Send SIG to the broker's process group, falling back to the pid alone.
signal_broker() {
    local sig=$1 pid=$2
    kill "-$sig" -- "-$pid" 2>/dev/null || kill "-$sig" "$pid" 2>/dev/null || true
}

wait_gone() {
    local pid=$1 deadline=$(($(now_ms) + $2 * 1000))
    while pid_alive "$pid"; do
        (($(now_ms) < deadline)) || return 1
        sleep 0.1
    done
}

# Processes still in the broker's process group (e.g. if the JVM forked).
group_members() {
    local pid=$1
    ps -e -o pid=,pgid= | awk -v g="$pid" '$2 == g { print $1 }'
}

cmd_stop() {
    local dir=$1 pid grace=${KAFKA_STOP_GRACE:-20} t0
    pid=$(read_pid "$dir")
    if [[ -z $pid ]] || ! pid_alive "$pid"; then
        rm -f "$dir/pid" "$dir/bootstrap"
        echo "kafka: no broker running in $dir"
        return 0
    fi
    is_our_broker "$pid" "$dir" || die "pid $pid in $dir/pid is not this broker; not killing it"
    t0=$(now_ms)
    signal_broker TERM "$pid"
    if ! wait_gone "$pid" "$grace"; then
        echo "kafka: broker pid $pid ignored SIGTERM for ${grace}s, sending SIGKILL" >&2
        signal_broker KILL "$pid"
        wait_gone "$pid" 10 || die "broker pid $pid survived SIGKILL"
    fi
    # Reap anything else left in its process group.
    local left
    left=$(group_members "$pid")
    if [[ -n $left ]]; then
        signal_broker KILL "$pid"
        sleep 0.5
        left=$(group_members "$pid")
        [[ -z $left ]] || die "processes left in broker group $pid: $left"
    fi
    rm -f "$dir/pid" "$dir/bootstrap"
    echo "kafka: broker pid $pid stopped in $(($(now_ms) - t0)) ms"
}

# Launch one broker with the given ports. Sets LAUNCHED=1 when it answers,
# LAUNCHED=0 on a bind conflict (caller retries with new ports), and dies on
# other failures. (Not a return code: a function called as a condition runs
# without errexit, and every step here must stop the script if it fails.)
launch() {
    local dir=$1 port=$2 cport=$3 java=$4 timeout=$5 t0 pid deadline
    rm -rf "$dir/data"
    mkdir -p "$dir/data" "$dir/logs"
    : >"$dir/logs/server.log"
    write_config "$dir" "$port" "$cport"

    local -a jvm=(-cp "$(cat "$dir/classpath")" -Djava.awt.headless=true
        -Dlog4j2.configurationFile="$dir/log4j2.properties" -Dkafka.logs.dir="$dir/logs")
    # shellcheck disable=SC2206
    local -a heap=(${KAFKA_HEAP:--Xms256m -Xmx1g})

    # Same as `kafka-storage.sh format --standalone`: this node is the only
    # voter of a dynamic controller quorum.
    if ! "$java" "${jvm[@]}" kafka.tools.StorageTool format --standalone \
        -t "$(random_cluster_id)" -c "$dir/server.properties" >"$dir/logs/format.log" 2>&1; then
        cat "$dir/logs/format.log" >&2
        die "formatting KRaft storage in $dir/data failed"
    fi

    t0=$(now_ms)
    # setsid: the broker leads its own process group (stop kills the group)
    # and does not die with the caller's terminal or ctest's test process.
    # Its stdio goes to files so ctest does not wait on inherited pipes.
    # bash writes its own pid, then exec keeps that pid for the JVM.
    setsid bash -c 'echo $$ >"$1/pid"; shift; exec "$@"' _ "$dir" \
        "$java" "${heap[@]}" "${jvm[@]}" kafka.Kafka "$dir/server.properties" \
        </dev/null >"$dir/logs/stdout.log" 2>&1 &
    local launcher=$!
    deadline=$((t0 + timeout * 1000))
    while [[ ! -s $dir/pid ]]; do
        if (($(now_ms) > deadline)) || ! pid_alive "$launcher"; then
            [[ -s $dir/pid ]] && break
            show_logs "$dir"
            die "broker process did not start"
        fi
        sleep 0.05
    done
    pid=$(cat "$dir/pid")

    while ! broker_answers "127.0.0.1:$port"; do
        if ! pid_alive "$pid"; then
            if grep -qE 'Address already in use|BindException' "$dir/logs/server.log" \
                "$dir/logs/stdout.log" 2>/dev/null; then
                echo "kafka: port $port or $cport was taken meanwhile, retrying" >&2
                rm -f "$dir/pid"
                LAUNCHED=0
                return 0
            fi
            show_logs "$dir"
            die "broker exited before answering (see $dir/logs)"
        fi
        if (($(now_ms) > deadline)); then
            show_logs "$dir"
            cmd_stop "$dir" >&2 || true
            die "broker did not answer on 127.0.0.1:$port within ${timeout}s"
        fi
        sleep 0.2
    done
    echo "127.0.0.1:$port" >"$dir/bootstrap"
    LAUNCHED=1
    local version
    version=$(grep -m1 -o 'Kafka version: [^ ]*' "$dir/logs/server.log" | cut -d' ' -f3 || true)
    echo "kafka: broker ${version:-?} (node $NODE_ID, pid $pid) answers at 127.0.0.1:$port" \
        "(controller :$cport) after $(($(now_ms) - t0)) ms; data in $dir"
}

cmd_start() {
    local dir=$1 want_port=${2:-} java timeout=${KAFKA_START_TIMEOUT:-90} attempt
    command -v kcat >/dev/null || die "kcat not found: start uses it to see the broker answer"
    mkdir -p "$dir/logs"
    # A broker left over from an interrupted run of the same DIR: stop it so
    # every start gives a fresh, empty cluster.
    local old
    old=$(read_pid "$dir")
    if [[ -n $old ]] && is_our_broker "$old" "$dir"; then
        echo "kafka: stopping a broker left running in $dir" >&2
        cmd_stop "$dir" >&2
    fi
    rm -f "$dir/pid" "$dir/bootstrap"
    java=$(find_java)
    echo "$java" >"$dir/java"
    resolve_classpath "$dir"
    for attempt in 1 2 3; do
        local port cport
        if [[ -n $want_port ]]; then
            port=$want_port
            port_in_use "$port" && die "port $port is already in use"
        else
            port=$(free_port)
        fi
        TAKEN_PORTS="${TAKEN_PORTS:-} $port"
        cport=$(free_port)
        TAKEN_PORTS="${TAKEN_PORTS:-} $cport"
        launch "$dir" "$port" "$cport" "$java" "$timeout"
        ((LAUNCHED)) && return 0
    done
    die "could not bind the broker after 3 attempts"
}

cmd_status() {
    local dir=$1 pid bootstrap
    pid=$(read_pid "$dir")
    if [[ -z $pid ]] || ! is_our_broker "$pid" "$dir"; then
        echo "kafka: not running ($dir)"
        return 1
    fi
    bootstrap=$(cat "$dir/bootstrap" 2>/dev/null || true)
    if [[ -z $bootstrap ]] || ! broker_answers "$bootstrap"; then
        echo "kafka: pid $pid running but not answering (${bootstrap:-no bootstrap yet})"
        return 1
    fi
    echo "kafka: running, pid $pid, bootstrap $bootstrap"
}

main() {
    [[ $# -ge 2 ]] || usage
    local cmd=$1 dir=$2 port=""
    shift 2
    while [[ $# -gt 0 ]]; do
        case $1 in
        --port)
            [[ ${2:-} =~ ^[0-9]+$ ]] || die "--port needs a number"
            port=$2
            shift 2
            ;;
        *) usage ;;
        esac
    done
    [[ $cmd == start ]] && mkdir -p "$dir"
    [[ -d $dir ]] || die "no such directory: $dir"
    dir=$(cd "$dir" && pwd)
    case $cmd in
    start) cmd_start "$dir" "$port" ;;
    stop) cmd_stop "$dir" ;;
    status) cmd_status "$dir" || exit 1 ;;
    bootstrap)
        [[ -s $dir/bootstrap ]] || die "no broker started in $dir"
        cat "$dir/bootstrap"
        ;;
    *) usage ;;
    esac
}

main "$@"
