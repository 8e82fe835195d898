#!/usr/bin/env bash
# An expired stored replay id, once per on_invalid_replay policy. sfbridge
# delivers events 1..S and stores S; while it is down more events come and
# sfemu expires everything through S+10, so S is no longer a valid replay id
# (salesforce-wire.md 4.3: "400::The replayId {S} you provided was invalid").
# On restart:
#   earliest  replays what is retained (S+11..), logs the gap as a warning
#   latest    skips to events published after the new subscription, logs it
#   fail      stops that channel with an error in the log; nothing more comes
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sink_lib.sh"
. "$(dirname "$0")/source_lib.sh"
it_init source_replay
[[ -n ${SFBRIDGE:-} ]] || fail "SFBRIDGE is not set"

# run_policy POLICY: sets S (stored id), K (last id published while down),
# N1..N2 (published after the restart) and leaves sfbridge running.
run_policy() {
    local policy=$1 first
    IT_LOG_DIR=$IT_DIR/$policy
    mkdir -p "$IT_LOG_DIR"
    sfemu_start "emu_$policy" --cometd-timeout-ms 2000
    SFEMU_URL[emu1]=${SFEMU_URL[emu_$policy]}
    sink_topics 1
    src_topics
    src_config "$IT_DIR/$policy.conf" "on_invalid_replay = \"$policy\";"

    read -r first S <<<"$(src_publish 10)"
    bg_start sfbridge "$SFBRIDGE" run -c "$IT_DIR/$policy.conf"
    src_wait_ids "$first" "$S" 60
    bg_stop sfbridge
    grep -q "stopped at replay id $S:" "$IT_DIR/sfbridge.log" || fail "$policy: $S not stored"
    cp "$IT_DIR/sfbridge.log" "$IT_LOG_DIR/first.log"

    read -r _ K <<<"$(src_publish 20)"
    src_control emu1 events/expire "{\"channel\":\"$SRC_CHANNEL\",\"through_replay_id\":$((S + 10))}" >/dev/null
    bg_start sfbridge "$SFBRIDGE" run -c "$IT_DIR/$policy.conf"
    wait_for 30 "$policy: the gap logged" grep -q "GAP: channel $SRC_CHANNEL: replay id $S " "$IT_DIR/sfbridge.log"
    if [[ $policy != fail ]]; then
        wait_for 30 "$policy: session up after the gap" grep -q "session up" "$IT_DIR/sfbridge.log"
    else
        sleep 2 # the channel would have resubscribed by now if it were going to
    fi
    read -r N1 N2 <<<"$(src_publish 5)"
}

# ---- earliest: what is retained (S+11..K) comes, then the new events.
run_policy earliest
src_wait_ids $((S + 11)) "$N2" 60
src_assert_no_gap $((S + 11)) "$N2" "earliest: the retained events and the new ones"
assert_eq 0 "$(src_count_ids $((S + 1)) $((S + 10)))" "earliest: expired events cannot appear"
grep -q "warn .*GAP: channel $SRC_CHANNEL: replay id $S is no longer available.*resuming from the earliest retained event" \
    "$IT_DIR/sfbridge.log" || fail "earliest: no warning naming the gap"
bg_stop sfbridge
grep -q "$SRC_CHANNEL stopped at replay id $N2: .* 1 gaps" "$IT_DIR/sfbridge.log" ||
    fail "earliest: the gap is not counted / $N2 not stored"
log "earliest: $S stored, $((S + 1))..$((S + 10)) expired, $((S + 11))..$N2 delivered"

# ---- latest: nothing of S+11..K, the new events yes.
run_policy latest
src_wait_ids "$N1" "$N2" 60
assert_eq 0 "$(src_count_ids $((S + 1)) "$K")" "latest: events from before the resubscription"
grep -q "warn .*GAP: channel $SRC_CHANNEL: replay id $S is no longer available.*resuming from new events only" \
    "$IT_DIR/sfbridge.log" || fail "latest: no warning naming the gap"
bg_stop sfbridge
grep -q "$SRC_CHANNEL stopped at replay id $N2: .* 1 gaps" "$IT_DIR/sfbridge.log" ||
    fail "latest: the gap is not counted / $N2 not stored"
log "latest: $S stored, $((S + 1))..$K skipped, $N1..$N2 delivered"

# ---- fail: the channel stops; sfbridge keeps running; nothing after S.
run_policy fail
grep -q "error .*GAP: channel $SRC_CHANNEL: replay id $S is no longer available; channel stopped" \
    "$IT_DIR/sfbridge.log" || fail "fail: no error naming the stopped channel"
sleep 2
assert_eq 0 "$(src_count_ids $((S + 1)) "$N2")" "fail: events after the stored id"
bg_alive sfbridge || fail "fail: sfbridge exited (only the channel should stop)"
bg_stop sfbridge
assert_eq 0 "$BG_RC" "fail: sfbridge exit status after SIGTERM"
# The stored position stays S, so a restart after fixing the policy decides anew.
grep -q "$SRC_CHANNEL stopped at replay id $S: " "$IT_DIR/sfbridge.log" || fail "fail: stored id moved"
log "fail: $S stored, channel stopped, $((S + 1))..$N2 not delivered"
it_pass
