#!/usr/bin/env bash
# Checks the helpers of lib.sh that later tests rely on: background processes
# are stopped with everything they spawned (also when a test fails), exit
# statuses come through, wait_for times out, names are unique, and topic
# creation and counting agree with the broker.
. "$(dirname "$0")/lib.sh"
it_init lib_helpers

# bg_start/bg_stop: a wrapper that spawns a child; stop must end both.
bg_start sleeper bash -c 'sleep 300 & echo "child $!"; wait'
wait_for 5 "sleeper child" grep -q '^child ' "$IT_DIR/sleeper.log"
parent=$(bg_pid sleeper)
child=$(awk '/^child / { print $2 }' "$IT_DIR/sleeper.log")
bg_alive sleeper || fail "sleeper is not running"
bg_stop sleeper 5
assert_eq 143 "$BG_RC" "exit status of a SIGTERMed process"
for p in "$parent" "$child"; do
    ! bg_running "$p" || fail "pid $p survived bg_stop"
done

# bg_wait returns the process's own exit status.
bg_start quitter bash -c 'exit 7'
bg_wait quitter 5
assert_eq 7 "$BG_RC" "exit status through bg_wait"

# A process that ignores SIGTERM is killed after the grace period.
bg_start stubborn bash -c 'trap "" TERM; echo ready; while :; do sleep 0.1; done'
wait_for 5 "stubborn ready" grep -q ready "$IT_DIR/stubborn.log"
bg_stop stubborn 1
assert_eq 137 "$BG_RC" "exit status of a SIGKILLed process"

# A failing test still stops its background processes (the EXIT trap).
cat >"$IT_DIR/failing.sh" <<EOS
. "$IT_LIB_DIR/lib.sh"
it_init lib_helpers_failing
bg_start orphan sleep 300
echo "\$(bg_pid orphan)" >"$IT_DIR/orphan.pid"
fail "on purpose"
EOS
rc=0
bash "$IT_DIR/failing.sh" 2>"$IT_DIR/failing.err" || rc=$?
assert_eq 1 "$rc" "exit status of a failing test"
grep -q 'FAIL lib_helpers_failing: on purpose' "$IT_DIR/failing.err" || fail "fail message missing"
orphan=$(<"$IT_DIR/orphan.pid")
! bg_running "$orphan" || fail "a failing test left pid $orphan running"

# wait_for fails (in a subshell here) once its time is up.
t0=$(it_now_ms)
if (wait_for 1 "something false" false) 2>/dev/null; then
    fail "wait_for succeeded on false"
fi
elapsed=$(($(it_now_ms) - t0))
((elapsed >= 1000 && elapsed < 5000)) || fail "wait_for 1 took $elapsed ms"

# it_name gives distinct legal Kafka names.
a=$(it_name x)
b=$(it_name x)
[[ $a != "$b" ]] || fail "it_name repeated $a"
[[ $a =~ ^[a-zA-Z0-9._-]+$ && ${#a} -le 249 ]] || fail "it_name gave an illegal topic name $a"

# Topic helpers against the broker.
topic=$(it_name t)
kafka_create_topic "$topic" 3
assert_eq 3 "$(kafka_partitions "$topic")" "partitions of $topic"
assert_eq 0 "$(kafka_count "$topic")" "messages in a new topic"
printf 'a\nb\nc\nd\ne\n' | kafka_produce "$topic" -p 2
wait_for 10 "5 messages" kafka_has_count "$topic" 5
assert_eq "0 0
1 0
2 5" "$(kafka_end_offsets "$topic")" "end offsets"
kafka_delete_topic "$topic"
wait_for 10 "$topic to go away" test "$(kafka_partitions "$topic")" = 0

it_pass
