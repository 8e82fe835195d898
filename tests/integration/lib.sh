# Shared helpers for integration tests (tests/integration/t_*.sh). Source it:
#
#   . "$(dirname "$0")/lib.sh"
#   it_init roundtrip            # names the test; work dir, cleanup, broker address
#   topic=$(it_name cmd)         # a topic/group name no other test run uses
#   kafka_create_topic "$topic" 4
#   bg_start sfemu "$SFEMU" --port 0 ...
#   wait_for 10 "sfemu listening" grep -q listening "$IT_DIR/sfemu.log"
#   ...
#   it_pass                      # prints "PASS <name>" and exits 0
#
# Everything a test starts with bg_start is stopped when the script exits,
# however it exits. Helpers print to stderr; failures go through `fail`, which
# exits 1 with the message (and the tails of the background logs).
#
# Environment (set by tests/integration/CMakeLists.txt; defaults for running
# a test by hand are noted):
#   KAFKA_BOOTSTRAP_FILE  file with the broker's host:port (from tests/kafka/broker.sh)
#   KAFKA_BOOTSTRAP       host:port directly (overrides the file)
#   KAFKA_ADMIN           sfb_kafka_admin binary (topic creation, committed offsets)
#   KAFKA_DIR             the broker's directory (logs/server.log, pid)
#   SFB_SOURCE_DIR        source tree (default: two levels above this file)
#   SFB_BINARY_DIR        build tree; work dirs go under $SFB_BINARY_DIR/it (default /tmp)
#   SFBRIDGE, SFEMU       built binaries, when those targets exist
#
# Needs: bash 4+, kcat, jq.

set -euo pipefail

IT_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SFB_SOURCE_DIR=${SFB_SOURCE_DIR:-$(cd "$IT_LIB_DIR/../.." && pwd)}
SFB_BINARY_DIR=${SFB_BINARY_DIR:-/tmp}

IT_NAME=""
IT_DIR=""
IT_START_MS=0
BG_RC=0
declare -A IT_BG_PIDS=()

# ---------------------------------------------------------------- basics

it_now_ms() {
    echo $(($(date +%s%N) / 1000000))
}

# log MSG...: a timestamped progress line on stderr (ctest shows it on failure).
log() {
    printf '[%s +%dms] %s\n' "${IT_NAME:-it}" $(($(it_now_ms) - IT_START_MS)) "$*" >&2
}

# fail MSG...: report, show background logs, exit 1 (cleanup runs via trap).
fail() {
    printf 'FAIL %s: %s\n' "${IT_NAME:-it}" "$*" >&2
    local name
    for name in "${!IT_BG_PIDS[@]}"; do
        if [[ -s $IT_DIR/$name.log ]]; then
            echo "---- last lines of $IT_DIR/$name.log ----" >&2
            tail -n 30 "$IT_DIR/$name.log" >&2
        fi
    done
    exit 1
}

# it_pass: the closing line of a passing test.
it_pass() {
    echo "PASS ${IT_NAME} ($(($(it_now_ms) - IT_START_MS)) ms)"
    exit 0
}

# need CMD...: fail unless every command is on PATH.
need() {
    local c
    for c in "$@"; do
        command -v "$c" >/dev/null || fail "$c is not installed"
    done
}

# assert_eq EXPECTED ACTUAL WHAT: fail with both values when they differ.
assert_eq() {
    [[ $1 == "$2" ]] || fail "$3: expected '$1', got '$2'"
}

# assert_file_eq EXPECTED_FILE ACTUAL_FILE WHAT: fail with a diff when they differ.
assert_file_eq() {
    if ! diff -u "$1" "$2" >"$IT_DIR/diff.out" 2>&1; then
        head -n 40 "$IT_DIR/diff.out" >&2
        fail "$3: files differ ($1 vs $2)"
    fi
}

# it_init NAME: start a test. Creates $IT_DIR (fresh, under the build tree),
# installs the cleanup trap and reads the broker address into KAFKA_BOOTSTRAP.
it_init() {
    IT_NAME=$1
    IT_START_MS=$(it_now_ms)
    IT_DIR=$SFB_BINARY_DIR/it/$IT_NAME
    rm -rf "$IT_DIR"
    mkdir -p "$IT_DIR"
    trap it_cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    need kcat jq
    if [[ -z ${KAFKA_BOOTSTRAP:-} ]]; then
        [[ -n ${KAFKA_BOOTSTRAP_FILE:-} ]] ||
            fail "KAFKA_BOOTSTRAP_FILE is not set (run under ctest, or set KAFKA_BOOTSTRAP)"
        [[ -s $KAFKA_BOOTSTRAP_FILE ]] ||
            fail "no broker address in $KAFKA_BOOTSTRAP_FILE (did kafka_start run?)"
        KAFKA_BOOTSTRAP=$(<"$KAFKA_BOOTSTRAP_FILE")
    fi
    export KAFKA_BOOTSTRAP
    log "work dir $IT_DIR, broker $KAFKA_BOOTSTRAP"
}

# it_name WHAT: a name unique to this test run (topics, groups, client ids), so
# tests can share the one broker and run in parallel, and a rerun never sees
# an earlier run's data. Kafka names allow [a-zA-Z0-9._-].
it_name() {
    printf 'it.%s.%s.%d.%04x%04x' "$IT_NAME" "$1" "$$" "$RANDOM" "$RANDOM"
}

# wait_for SECONDS WHAT CMD...: run CMD every 100 ms until it succeeds; fail
# naming WHAT after SECONDS.
wait_for() {
    local secs=$1 what=$2
    shift 2
    local deadline=$(($(it_now_ms) + secs * 1000))
    until "$@" >/dev/null 2>&1; do
        (($(it_now_ms) < deadline)) || fail "timed out after ${secs}s waiting for $what"
        sleep 0.1
    done
}

# wait_for_port PORT [SECONDS]: until something listens on 127.0.0.1:PORT.
wait_for_port() {
    wait_for "${2:-10}" "127.0.0.1:$1 to listen" bash -c "exec 3<>/dev/tcp/127.0.0.1/$1"
}

# -------------------------------------------------------- background processes

# bg_start NAME CMD...: run CMD in the background, its stdout and stderr in
# $IT_DIR/NAME.log, in a process group of its own so that bg_stop also ends
# anything it spawned. Stopped automatically when the test exits.
bg_start() {
    local name=$1
    shift
    [[ -z ${IT_BG_PIDS[$name]:-} ]] || fail "bg_start: $name is already running"
    # Without job control a background job does not lead a process group, so
    # setsid makes the new group without forking: $! is the command's pid.
    setsid "$@" </dev/null >"$IT_DIR/$name.log" 2>&1 &
    IT_BG_PIDS[$name]=$!
    log "started $name (pid $!): $*"
}

# bg_pid NAME: the pid of a process started with bg_start.
bg_pid() {
    echo "${IT_BG_PIDS[$1]:?no background process named $1}"
}

# bg_alive NAME: true while the process runs.
bg_alive() {
    local pid=${IT_BG_PIDS[$1]:-}
    [[ -n $pid ]] && bg_running "$pid"
}

# bg_signal NAME SIG: send SIG to the process's group (or the pid alone).
bg_signal() {
    local pid=${IT_BG_PIDS[$1]:?no background process named $1}
    kill "-$2" -- "-$pid" 2>/dev/null || kill "-$2" "$pid" 2>/dev/null || true
}

# bg_wait NAME [SECONDS]: wait for the process to exit by itself and set
# BG_RC to its exit status. Fails if it still runs after SECONDS (default 30).
# (BG_RC, not stdout: $(bg_wait ...) would run in a subshell, which cannot
# wait for its parent's children.)
bg_wait() {
    local name=$1 secs=${2:-30} pid
    pid=$(bg_pid "$name")
    local deadline=$(($(it_now_ms) + secs * 1000))
    while bg_running "$pid"; do
        (($(it_now_ms) < deadline)) || fail "$name (pid $pid) still running after ${secs}s"
        sleep 0.05
    done
    BG_RC=0
    wait "$pid" || BG_RC=$?
    unset "IT_BG_PIDS[$name]"
}

# bg_stop NAME [GRACE_SECONDS]: SIGTERM to its group, wait up to GRACE
# (default 10), then SIGKILL. Sets BG_RC (143 = ended by SIGTERM).
bg_stop() {
    local name=$1 grace=${2:-10} pid
    BG_RC=0
    pid=${IT_BG_PIDS[$name]:-}
    [[ -n $pid ]] || return 0
    bg_signal "$name" TERM
    local deadline=$(($(it_now_ms) + grace * 1000))
    while bg_running "$pid"; do
        if (($(it_now_ms) >= deadline)); then
            log "$name (pid $pid) ignored SIGTERM for ${grace}s: SIGKILL"
            bg_signal "$name" KILL
            break
        fi
        sleep 0.05
    done
    wait "$pid" 2>/dev/null || BG_RC=$?
    # Children it left in its group (e.g. a wrapper script's) go too; return
    # only once none of them runs (zombies awaiting their reaper do not count).
    kill -KILL -- "-$pid" 2>/dev/null || true
    deadline=$(($(it_now_ms) + 5000))
    while ps -e -o pgid=,stat= | awk -v g="$pid" '$1 == g && $2 !~ /^Z/ { f = 1 } END { exit !f }'; do
        (($(it_now_ms) < deadline)) || fail "processes of $name (group $pid) survive SIGKILL"
        sleep 0.05
    done
    unset "IT_BG_PIDS[$name]"
}

# bg_running PID: true while PID exists and is not a zombie awaiting wait.
bg_running() {
    kill -0 "$1" 2>/dev/null && [[ $(ps -o stat= -p "$1" 2>/dev/null) != Z* ]]
}

it_cleanup() {
    local rc=$? name
    for name in "${!IT_BG_PIDS[@]}"; do
        bg_stop "$name" 5
    done
    # A failed run's work dir (every log) is kept beside the next runs'
    # instead of being wiped by them: a rare failure can still be read.
    if ((rc != 0)) && [[ -n $IT_DIR && -d $IT_DIR ]]; then
        local kept
        kept="$IT_DIR.failed.$(date +%Y%m%dT%H%M%S).$$"
        cp -a "$IT_DIR" "$kept" 2>/dev/null && echo "logs of this run kept in $kept" >&2
        # The five newest are enough (a test of fail() itself fails every run).
        local old
        for old in $(ls -dt "$IT_DIR".failed.* 2>/dev/null | tail -n +6); do
            rm -rf "$old"
        done
    fi
    return "$rc"
}

# ------------------------------------------------------------------- Kafka

# kafka_admin ARGS...: run sfb_kafka_admin against the broker.
kafka_admin() {
    [[ -n ${KAFKA_ADMIN:-} && -x $KAFKA_ADMIN ]] ||
        fail "KAFKA_ADMIN does not name the sfb_kafka_admin binary"
    "$KAFKA_ADMIN" -b "$KAFKA_BOOTSTRAP" "$@"
}

# kafka_create_topic TOPIC PARTITIONS [NAME=VALUE...]: create it (replication
# 1) and return once every partition has a leader. ~0.1 s.
kafka_create_topic() {
    kafka_admin create-topic "$@" || fail "could not create topic $1"
    log "created topic $1 with $2 partitions"
}

# kafka_delete_topic TOPIC
kafka_delete_topic() {
    kafka_admin delete-topic "$1" || fail "could not delete topic $1"
}

# kafka_committed GROUP TOPIC: "PARTITION OFFSET" lines of the group's
# committed offsets (-1001 = nothing committed). Does not join the group.
kafka_committed() {
    kafka_admin committed "$1" "$2"
}

# kafka_partitions TOPIC: the topic's partition count (0 if unknown).
# It lists all topics: asking for metadata of one named topic would make the
# broker (auto.create.topics.enable=true) create it, or re-create a deleted one.
kafka_partitions() {
    kcat -L -J -b "$KAFKA_BOOTSTRAP" -m 5 2>/dev/null |
        jq -r --arg t "$1" '[.topics[] | select(.topic == $t and .error == null) | .partitions[]] | length'
}

# kafka_end_offsets TOPIC: "PARTITION END_OFFSET" lines (next offset to write).
kafka_end_offsets() {
    local topic=$1 n p args=()
    n=$(kafka_partitions "$topic")
    ((n > 0)) || return 1
    for ((p = 0; p < n; p++)); do
        args+=(-t "$topic:$p:-1")
    done
    kcat -Q -b "$KAFKA_BOOTSTRAP" "${args[@]}" | awk '{ gsub(/[][]/, "", $2); print $2, $4 }'
}

# kafka_count TOPIC: messages in the topic (sum of end offsets; exact for a
# topic that was never compacted, deleted from, or written transactionally).
kafka_count() {
    kafka_end_offsets "$1" | awk '{ s += $2 } END { print s + 0 }'
}

# kafka_has_count TOPIC N: true once the topic holds at least N messages.
# Use as: wait_for 30 "10 results" kafka_has_count "$topic" 10
kafka_has_count() {
    local c
    c=$(kafka_count "$1") || return 1
    ((c >= $2))
}

# kafka_produce TOPIC [KCAT_ARGS...]: produce stdin lines, one message each;
# pass e.g. -K '|' for "key|value" lines, -H name=value, -p N.
# Fails unless every message is acknowledged.
kafka_produce() {
    local topic=$1
    shift
    kcat -P -b "$KAFKA_BOOTSTRAP" -t "$topic" -X acks=all -m 10 "$@" ||
        fail "kcat could not produce to $topic"
}

# kafka_consume_json TOPIC [KCAT_ARGS...]: every message now in the topic,
# all partitions, as kcat JSON envelopes, one per line:
#   {"topic","partition","offset","tstype","ts","broker","headers":[k,v,...],"key","payload"}
# (kcat 1.7 prints headers as a flat [name, value, ...] array). Returns when
# the end of every partition is reached.
kafka_consume_json() {
    local topic=$1
    shift
    kcat -C -b "$KAFKA_BOOTSTRAP" -t "$topic" -o beginning -e -J -q -m 10 "$@" ||
        fail "kcat could not consume from $topic"
}

# kafka_broker_check: fail unless a real Kafka broker answers at
# KAFKA_BOOTSTRAP: the metadata must come from node 1 at that exact address,
# and, when KAFKA_DIR is known, the broker process must be the JVM running
# kafka.Kafka that broker.sh started. Prints the broker's version.
kafka_broker_check() {
    local md id name
    md=$(kcat -L -J -b "$KAFKA_BOOTSTRAP" -m 5 2>&1) || fail "no broker answers at $KAFKA_BOOTSTRAP: $md"
    id=$(jq -r '.originating_broker.id' <<<"$md")
    name=$(jq -r '.brokers[0].name' <<<"$md")
    assert_eq 1 "$id" "broker node id"
    assert_eq "$KAFKA_BOOTSTRAP" "$name" "advertised broker address"
    if [[ -n ${KAFKA_DIR:-} ]]; then
        local pid version
        pid=$(<"$KAFKA_DIR/pid") || fail "no pid file in $KAFKA_DIR"
        tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q 'java .*kafka\.Kafka ' ||
            fail "pid $pid is not a kafka.Kafka JVM"
        version=$(grep -m1 -o 'Kafka version: [0-9][^ ]*' "$KAFKA_DIR/logs/server.log" | cut -d' ' -f3)
        [[ $version == 4.* ]] || fail "broker reports Kafka version '$version', want 4.x"
        echo "$version"
    fi
}
