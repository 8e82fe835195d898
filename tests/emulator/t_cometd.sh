#!/usr/bin/env bash
# t_cometd.sh - the sfemu binary's Streaming API as a CometD client sees it,
# with curl: the --cometd-timeout-ms and --event-max-per-channel flags, a
# handshake/subscribe/connect round with events, the control API's publish
# and drop, and --help. Env: SFEMU = path of the binary (set by ctest).
set -euo pipefail
SFEMU=${SFEMU:?set SFEMU to the sfemu binary}
tmp=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

help=$("$SFEMU" --help) # captured: grep -q on a pipe may close it early (SIGPIPE)
grep -q -- '--cometd-timeout-ms' <<<"$help" || fail "--help lacks --cometd-timeout-ms"
grep -q '/__sfemu/events/publish' <<<"$help" || fail "--help lacks the streaming control API"
if "$SFEMU" --port 0 --cometd-timeout-ms x >/dev/null 2>&1; then fail "bad timeout accepted"; fi

"$SFEMU" --port 0 --cometd-timeout-ms 300 --event-max-per-channel 5 >"$tmp/out" 2>"$tmp/err" &
pid=$!
for _ in $(seq 1 200); do
    grep -q 'listening on' "$tmp/out" 2>/dev/null && break
    sleep 0.01
done
url=$(sed -n 's/^sfemu listening on //p' "$tmp/out")
[ -n "$url" ] || fail "no URL printed: $(cat "$tmp/err")"
tok=$(curl -sf -d grant_type=client_credentials -d client_id=3MVG9sfemu.sfbridge.CONSUMERKEY \
    -d client_secret=sfemu-sfbridge-secret "$url/services/oauth2/token" |
    sed -n 's/.*"access_token":"\([^"]*\)".*/\1/p')
[ -n "$tok" ] || fail "no token"
bayeux() { curl -s -H "Authorization: Bearer $tok" -H 'Content-Type: application/json' -d "$1" "$url/cometd/62.0"; }

hs=$(bayeux '[{"channel":"/meta/handshake","version":"1.0","supportedConnectionTypes":["long-polling"],"ext":{"replay":true}}]')
cid=$(echo "$hs" | sed -n 's/.*"clientId":"\([^"]*\)".*/\1/p')
[ -n "$cid" ] || fail "handshake: $hs"
out=$(curl -sf -d '{"channel":"/event/Order_Event__e","count":8}' "$url/__sfemu/events/publish")
[ "$out" = '{"replay_ids":[1,8]}' ] || fail "publish: $out"
# Only 5 are kept per channel: ids 4..8; replaying from 2 is invalid, from 3 fine.
out=$(curl -sf "$url/__sfemu/events?channel=/event/Order_Event__e")
echo "$out" | grep -q '"first_replay_id":4' || fail "cap: $out"
out=$(bayeux '[{"channel":"/meta/subscribe","clientId":"'"$cid"'","subscription":"/event/Order_Event__e","ext":{"replay":{"/event/Order_Event__e":2}}}]')
echo "$out" | grep -q 'The replayId {2} you provided was invalid.  Please provide' || fail "replay 2: $out"
out=$(bayeux '[{"channel":"/meta/subscribe","clientId":"'"$cid"'","subscription":"/event/Order_Event__e","ext":{"replay":{"/event/Order_Event__e":3}}}]')
echo "$out" | grep -q '"successful":true' || fail "replay 3: $out"
out=$(bayeux '[{"channel":"/meta/connect","clientId":"'"$cid"'","connectionType":"long-polling"}]')
n=$(echo "$out" | grep -o '"replayId":[0-9]*' | tr '\n' ' ')
[ "$n" = '"replayId":4 "replayId":5 "replayId":6 "replayId":7 "replayId":8 ' ] || fail "connect: $out"
echo "$out" | grep -q '"timeout":300' || fail "advice timeout: $out"
# An idle connect is held --cometd-timeout-ms.
t0=$(date +%s%N)
bayeux '[{"channel":"/meta/connect","clientId":"'"$cid"'","connectionType":"long-polling"}]' >/dev/null
held=$(( ($(date +%s%N) - t0) / 1000000 ))
[ "$held" -ge 280 ] && [ "$held" -lt 2000 ] || fail "held $held ms"
curl -sf -d '{}' "$url/__sfemu/cometd/drop" >/dev/null
out=$(bayeux '[{"channel":"/meta/connect","clientId":"'"$cid"'","connectionType":"long-polling"}]')
echo "$out" | grep -q '"error":"403::Unknown client"' || fail "after drop: $out"
kill -TERM "$pid"
wait "$pid" || fail "exit status $? on SIGTERM"
pid=
echo "ok: handshake, cap, replay, connect held ${held} ms, drop"
