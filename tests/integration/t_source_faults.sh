#!/usr/bin/env bash
# The source under Streaming API faults, with events published all along:
# sfemu forgets the CometD client (403::Unknown client), restarts its bus,
# expires every access token (401 on connect: token refresh), holds a
# connect reply (with the events it took) past the client's timeout, and
# expires the CometD client of a frozen sfbridge. After
# each fault new events must come through; at the end the replay ids on the
# topic cover the whole stream with no gap.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sink_lib.sh"
. "$(dirname "$0")/source_lib.sh"
it_init source_faults
[[ -n ${SFBRIDGE:-} ]] || fail "SFBRIDGE is not set"

# Connects held 2 s (advice timeout 2000): sfbridge gives up on one after
# 2 s + its 5 s minimum margin.
sfemu_start emu1 --cometd-timeout-ms 2000 --cometd-client-expiry-ms 5000
sink_topics 1
src_topics
src_config "$IT_DIR/src.conf"

read -r first _ <<<"$(src_publish 1)"
bg_start sfbridge "$SFBRIDGE" --log-level debug run -c "$IT_DIR/src.conf"
wait_for 30 "session up" grep -q "session up" "$IT_DIR/sfbridge.log"
bg_start streamer bash -c "while :; do curl -sf -m 20 -X POST -H 'Content-Type: application/json' \
    --data '{\"channel\":\"$SRC_CHANNEL\",\"count\":5}' ${SFEMU_URL[emu1]}/__sfemu/events/publish >/dev/null; sleep 0.05; done"

# progress WHAT: events published after now reach the topic.
progress() {
    local a b
    read -r a b <<<"$(src_publish 1)"
    [[ -n $b ]] || fail "publish after $1 failed"
    src_wait_ids "$first" "$b" 60
    log "through $b after $1"
}
progress "start"

src_control emu1 cometd/drop '{}' >/dev/null
progress "cometd/drop"
grep -q "Unknown client" "$IT_DIR/sfbridge.log" || fail "no 403::Unknown client seen after cometd/drop"

src_control emu1 bus/restart '{}' >/dev/null
progress "bus/restart"

src_control emu1 sessions/expire '{}' >/dev/null
progress "sessions/expire"
grep -q "new token, new session" "$IT_DIR/sfbridge.log" || fail "no token refresh after sessions/expire"

# The next two connect replies leave 9 s late: past 2 s + 5 s, so sfbridge
# has given up on them; the events in them must come again.
handshakes=$(grep -c "session up" "$IT_DIR/sfbridge.log")
src_control emu1 cometd/delay '{"ms":9000,"next":2}' >/dev/null
sleep 1
progress "cometd/delay past the client's timeout"
(($(grep -c "session up" "$IT_DIR/sfbridge.log") > handshakes)) ||
    fail "no new session after a connect timed out"

# The CometD session expires on the server side: client expiry down to 2 s,
# sfbridge frozen (SIGSTOP) for 4 s. Its connect in flight is answered at
# once (events come every 50 ms) and the client expires 2 s later; 4 s stays
# under the client's own 7 s connect timeout, so on SIGCONT it reads that
# reply, and its next connect meets 403::Unknown client.
src_control emu1 cometd/timeouts '{"expiry_ms":2000}' >/dev/null
unknown=$(grep -c "Unknown client" "$IT_DIR/sfbridge.log")
bg_signal sfbridge STOP
sleep 4
bg_signal sfbridge CONT
progress "the CometD client expired while sfbridge was frozen"
(($(grep -c "Unknown client" "$IT_DIR/sfbridge.log") > unknown)) ||
    fail "no 403::Unknown client after the client expired"
src_control emu1 cometd/timeouts '{"expiry_ms":5000}' >/dev/null

bg_stop streamer
read -r _ last <<<"$(src_publish 1)"
src_wait_ids "$first" "$last" 60
src_assert_no_gap "$first" "$last" "after drop, bus restart, session expiry and a late connect"
msgs=$(src_messages)
log "$((last - first + 1)) events, $msgs messages on the topic"
bg_alive sfbridge || fail "sfbridge died"
bg_stop sfbridge
assert_eq 0 "$BG_RC" "sfbridge exit status after SIGTERM"
grep -q "stopped at replay id" "$IT_DIR/sfbridge.log" || fail "no final replay id logged"
! grep -qE "AddressSanitizer|runtime error:" "$IT_DIR/sfbridge.log" || fail "sanitizer report"
it_pass
