#!/usr/bin/env bash
# The quickstart: sfbridge's main job on the embedded defaults, on a fresh
# Debian machine with nothing else set up.
#
#   1. installs what is missing (deploy/install-deps.sh) and builds;
#   2. starts sfemu, the offline Salesforce org, on a free loopback port;
#   3. runs `sfbridge run` with kafka.embedded = true (librdkafka's mock
#      cluster, in-process: no broker to install);
#   4. produces a handful of commands of every op, and one bad message, with
#      kcat to the command topic;
#   5. shows the results, the dead letter, and the records in the org
#      (`sfbridge org query`); then stops everything.
#
# Everything it writes goes to build/quickstart/. Nothing is left running.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "installing dependencies (only what is missing) and building"
bash deploy/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
ninja -C build sfbridge sfemu >/dev/null
sfbridge=$root/build/bridge/sfbridge
sfemu=$root/build/tests/emulator/sfemu

work=$root/build/quickstart
rm -rf "$work"
mkdir -p "$work"
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
}
trap cleanup EXIT

say "starting sfemu (the offline Salesforce org)"
"$sfemu" --port 0 >"$work/sfemu.out" 2>"$work/sfemu.log" &
pids+=($!)
for _ in $(seq 100); do
    url=$(sed -n 's/.*listening on \(http[^ ]*\).*/\1/p' "$work/sfemu.out" | head -1)
    [[ -n $url ]] && break
    sleep 0.05
done
[[ -n ${url:-} ]] || { cat "$work/sfemu.log" >&2; echo "quickstart: sfemu did not start" >&2; exit 1; }
echo "sfemu at $url"

# The connected app and run-as user of sfemu's demo org (tests/emulator/data/org.json).
export SF_DEMO_CLIENT_SECRET=sfemu-sfbridge-secret
cat >"$work/quickstart.conf" <<CONF
# Written by deploy/quickstart.sh: one org (sfemu), an embedded Kafka.
kafka = { embedded = true; group = "sfbridge-quickstart"; };
orgs = ( {
  name = "demo";
  login_url = "$url";
  auth = { flow = "client_credentials";
           client_id = "3MVG9sfemu.sfbridge.CONSUMERKEY";
           client_secret = "\${SF_DEMO_CLIENT_SECRET}"; };
} );
sink = {
  command_topic = "sf.commands"; result_topic = "sf.results"; dead_letter_topic = "sf.deadletter";
  partitions = ( { partition = 0; org = "demo"; } );
  linger_ms = 20;
  dedupe = ( { sobject = "Widget__c"; field = "Ext_Id__c"; } );
};
# The other direction: the org's platform events to Kafka.
source = ( { org = "demo"; channel = "/event/Order_Event__e"; topic = "sf.events"; replay = "earliest"; } );
CONF
"$sfbridge" check -c "$work/quickstart.conf" >/dev/null

say "starting sfbridge run (embedded Kafka)"
"$sfbridge" run -c "$work/quickstart.conf" >"$work/sfbridge.out" 2>"$work/sfbridge.log" &
sfb_pid=$!
pids+=($sfb_pid)
for _ in $(seq 200); do
    boot=$(sed -n 's/^embedded kafka bootstrap //p' "$work/sfbridge.out" | head -1)
    [[ -n $boot ]] && grep -q "partition 0 assigned" "$work/sfbridge.log" && break
    sleep 0.05
done
[[ -n ${boot:-} ]] || { cat "$work/sfbridge.log" >&2; echo "quickstart: sfbridge did not start" >&2; exit 1; }
echo "embedded Kafka at $boot"

produce() { printf '%s\n' "$@" | kcat -P -b "$boot" -t sf.commands -p 0 -z none; }
results() { kcat -C -b "$boot" -t sf.results -o beginning -e -q -f '%s\n' 2>/dev/null; }
wait_results() {
    for _ in $(seq 300); do
        [[ $(results | wc -l) -ge $1 ]] && return 0
        sleep 0.05
    done
    echo "quickstart: fewer than $1 results" >&2
    tail -20 "$work/sfbridge.log" >&2
    exit 1
}

say "producing commands: insert, upsert, publish, a bad one"
produce \
    '{"op":"insert","sobject":"Account","command_id":"qs-1","fields":{"Name":"Acme Corporation"}}' \
    '{"op":"insert","sobject":"Contact","command_id":"qs-2","fields":{"LastName":"Lovelace","FirstName":"Ada"}}' \
    '{"op":"upsert","sobject":"Widget__c","external_id":{"field":"Ext_Id__c","value":"W-42"},"command_id":"qs-3","fields":{"Name":"Sprocket"}}' \
    '{"op":"publish","sobject":"Order_Event__e","command_id":"qs-4","fields":{"Order_Number__c":"O-1001"}}' \
    'this is not a command' \
    '{"op":"insert","sobject":"Account","command_id":"qs-5","fields":{"Name":"Bad","No_Such_Field__c":1}}'
wait_results 5
account=$(results | jq -r 'select(.command_id=="qs-1").id')
contact=$(results | jq -r 'select(.command_id=="qs-2").id')

say "producing commands: update and delete of the records just created"
produce \
    "{\"op\":\"update\",\"sobject\":\"Account\",\"id\":\"$account\",\"command_id\":\"qs-6\",\"fields\":{\"Name\":\"Acme Corporation (renamed)\"}}" \
    "{\"op\":\"delete\",\"sobject\":\"Contact\",\"id\":\"$contact\",\"command_id\":\"qs-7\"}"
wait_results 7

say "results (topic sf.results): one per command"
results | jq -c '{command_id, op, sobject, status, id, created, errors: [.errors[] | .code]}'

say "dead letters (topic sf.deadletter): what was not a command"
kcat -C -b "$boot" -t sf.deadletter -o beginning -e -q -f '%s\n' 2>/dev/null |
    jq -c '{reason, detail, value: (.value | @base64d)}'

say "platform events from the org (topic sf.events, the source): the publish above came back"
for _ in $(seq 100); do
    kcat -C -b "$boot" -t sf.events -o beginning -e -q -f '%s\n' 2>/dev/null | grep -q . && break
    sleep 0.1
done
kcat -C -b "$boot" -t sf.events -o beginning -e -q -f '%s\n' 2>/dev/null |
    jq -c '{org, channel, replay_id, Order_Number__c: .payload.payload.Order_Number__c}'

say "the records in the org: sfbridge org query"
"$sfbridge" --log-level warn org -c "$work/quickstart.conf" --format table query "SELECT Id, Name, LastModifiedDate FROM Account"
"$sfbridge" --log-level warn org -c "$work/quickstart.conf" --format table --all query "SELECT Id, LastName, IsDeleted FROM Contact"

say "stopping sfbridge (SIGTERM: finish, deliver, commit)"
kill -TERM "$sfb_pid"
wait "$sfb_pid" && echo "sfbridge stopped cleanly" || { echo "sfbridge exited with $?" >&2; exit 1; }
grep "stopped:" "$work/sfbridge.log" | sed 's/^.*\] //'
echo
echo "Logs and config: $work"
