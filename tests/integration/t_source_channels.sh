#!/usr/bin/env bash
# Every kind of channel the source reads, from sfemu's own DML: an Account
# created, updated, deleted and undeleted gives
#   /data/AccountChangeEvent   CREATE UPDATE DELETE UNDELETE, key = record id
#   /data/ChangeEvents         the same four (all objects' change events)
#   /topic/AccountStream       created updated deleted undeleted (a PushTopic
#                              made through REST before sfbridge starts),
#                              key = sobject.Id
# each in replay-id order on its topic, every value valid event.v1.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sink_lib.sh"
. "$(dirname "$0")/source_lib.sh"
it_init source_channels
[[ -n ${SFBRIDGE:-} ]] || fail "SFBRIDGE is not set"

sfemu_start emu1 --cometd-timeout-ms 2000
sink_topics 1
STATE_TOPIC=$(it_name state)
declare -A T=([cdc]=$(it_name cdc) [all]=$(it_name all) [pt]=$(it_name pt))
for k in cdc all pt; do kafka_create_topic "${T[$k]}" 1; done

tok=$(curl -sf -m 20 -d grant_type=client_credentials -d "client_id=$SFEMU_CLIENT_ID" \
    -d "client_secret=$SFEMU_CLIENT_SECRET" "${SFEMU_URL[emu1]}/services/oauth2/token" | jq -r .access_token)
[[ -n $tok && $tok != null ]] || fail "no token from sfemu"
rest() { # rest METHOD PATH [JSON]
    curl -sf -m 20 -X "$1" -H "Authorization: Bearer $tok" -H 'Content-Type: application/json' \
        ${3:+-d "$3"} "${SFEMU_URL[emu1]}/services/data/v62.0$2"
}
rest POST /sobjects/PushTopic '{"Name":"AccountStream","Query":"SELECT Id, Name FROM Account",
  "ApiVersion":62.0,"NotifyForOperationCreate":true,"NotifyForOperationUpdate":true,
  "NotifyForOperationDelete":true,"NotifyForOperationUndelete":true,"NotifyForFields":"All"}' >/dev/null ||
    fail "PushTopic not created"

sink_config "$IT_DIR/c.conf" 0:emu1
cat >>"$IT_DIR/c.conf" <<CONF
source = (
  { org = "emu1"; channel = "/data/AccountChangeEvent"; topic = "${T[cdc]}"; },
  { org = "emu1"; channel = "/data/ChangeEvents"; topic = "${T[all]}"; },
  { org = "emu1"; channel = "/topic/AccountStream"; topic = "${T[pt]}"; }
);
state_topic = "$STATE_TOPIC";
CONF
"$SFBRIDGE" check -c "$IT_DIR/c.conf" >/dev/null || fail "config rejected"
bg_start sfbridge "$SFBRIDGE" run -c "$IT_DIR/c.conf"
wait_for 30 "session up" grep -q "session up, 3 channel" "$IT_DIR/sfbridge.log"

id=$(rest POST /sobjects/Account '{"Name":"Streamed"}' | jq -r .id)
rest PATCH "/sobjects/Account/$id" '{"Name":"Streamed v2"}' >/dev/null
rest DELETE "/sobjects/Account/$id" >/dev/null
src_control emu1 undelete "{\"ids\":[\"$id\"]}" >/dev/null

for k in cdc all pt; do
    wait_for 30 "4 events on ${T[$k]}" kafka_has_count "${T[$k]}" 4
    timeout 60 kcat -C -b "$KAFKA_BOOTSTRAP" -t "${T[$k]}" -o beginning -c 4 -e -q -f '%k\t%s\n' \
        2>/dev/null >"$IT_DIR/$k.tsv"
    cut -f2 "$IT_DIR/$k.tsv" >"$IT_DIR/$k.jsonl"
    validate_messages "$IT_DIR/$k.jsonl" event
    assert_eq "$id" "$(cut -f1 "$IT_DIR/$k.tsv" | sort -u | xargs)" "$k: key is the record id"
    jq -r .replay_id "$IT_DIR/$k.jsonl" | sort -n -c || fail "$k: not in replay-id order"
done
assert_eq "CREATE UPDATE DELETE UNDELETE" \
    "$(jq -r .payload.payload.ChangeEventHeader.changeType "$IT_DIR/cdc.jsonl" | xargs)" "change types in order"
assert_eq "CREATE UPDATE DELETE UNDELETE" \
    "$(jq -r .payload.payload.ChangeEventHeader.changeType "$IT_DIR/all.jsonl" | xargs)" "/data/ChangeEvents"
assert_eq "Account" "$(jq -r '.payload.payload.ChangeEventHeader.entityName' "$IT_DIR/all.jsonl" | sort -u)" "entityName"
assert_eq "Name" "$(jq -r '.payload.payload.ChangeEventHeader.changedFields[]' "$IT_DIR/cdc.jsonl" |
    grep -v '^LastModified\|^SystemModstamp' | sort -u | xargs)" "changedFields of the UPDATE"
assert_eq "created updated deleted undeleted" "$(jq -r .payload.event.type "$IT_DIR/pt.jsonl" | xargs)" \
    "PushTopic event types in order"
assert_eq "Streamed v2" "$(jq -r 'select(.payload.event.type == "updated") | .payload.sobject.Name' "$IT_DIR/pt.jsonl")" \
    "PushTopic sobject fields"
assert_eq "/topic/AccountStream" "$(jq -r .channel "$IT_DIR/pt.jsonl" | sort -u)" "PushTopic channel field"
bg_stop sfbridge
assert_eq 0 "$BG_RC" "sfbridge exit status after SIGTERM"
it_pass
