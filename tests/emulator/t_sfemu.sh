#!/usr/bin/env bash
# t_sfemu.sh - the sfemu binary as scripts use it: --help, port 0 with the
# URL printed on stdout, a token and a few calls with curl, control flags
# (--records, --faults, --api-limit), start-up time, and a clean exit on
# SIGTERM and SIGINT. Env: SFEMU = path of the binary (set by ctest).
set -euo pipefail
SFEMU=${SFEMU:?set SFEMU to the sfemu binary}
tmp=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# Captured first: the help is longer than stdio's 4 KiB buffer, and grep -q
# closing the pipe early would kill sfemu's second write with SIGPIPE.
help=$("$SFEMU" --help)
grep -q -- '--tls-cert' <<<"$help" || fail "--help lacks --tls-cert"
grep -q '/__sfemu/faults' <<<"$help" || fail "--help lacks the control API"
if "$SFEMU" --port 0 --bogus >/dev/null 2>&1; then fail "unknown flag accepted"; fi
if "$SFEMU" --port 0 --data /nonexistent >/dev/null 2>&1; then fail "missing data accepted"; fi

# start: reads "sfemu listening on URL" from stdout
start() {
    local t0 t1
    t0=$(date +%s%N)
    "$SFEMU" --port 0 "$@" >"$tmp/out" 2>"$tmp/err" &
    pid=$!
    for _ in $(seq 1 200); do
        grep -q 'listening on' "$tmp/out" 2>/dev/null && break
        sleep 0.01
    done
    t1=$(date +%s%N)
    url=$(sed -n 's/^sfemu listening on //p' "$tmp/out")
    [ -n "$url" ] || fail "no URL printed: $(cat "$tmp/err")"
    echo "started in $(( (t1 - t0) / 1000000 )) ms at $url"
}

token() {
    curl -sfk -d grant_type=client_credentials -d client_id=3MVG9sfemu.sfbridge.CONSUMERKEY \
        -d client_secret=sfemu-sfbridge-secret "$url/services/oauth2/token" |
        sed -n 's/.*"access_token":"\([^"]*\)".*/\1/p'
}

cat >"$tmp/records.json" <<'JSON'
{"Account": [{"Name": "From flag", "Id": "001000000000077AAA"}]}
JSON
start --records "$tmp/records.json" --api-limit 5 \
    --faults '{"error":{"status":503,"errorCode":"SERVER_UNAVAILABLE","next":1,"path_prefix":"/services/data/v62.0/limits"}}'
tok=$(token)
[ -n "$tok" ] || fail "no token"
auth="Authorization: Bearer $tok"
code=$(curl -s -o "$tmp/body" -w '%{http_code}' -H "$auth" "$url/services/data/v62.0/limits")
[ "$code" = 503 ] || fail "fault from --faults not applied (got $code)"
curl -sf -H "$auth" "$url/services/data/v62.0/sobjects/Account/001000000000077AAA" \
    | grep -q '"Name":"From flag"' || fail "--records not loaded"
curl -s -D "$tmp/hdr" -o /dev/null -H "$auth" "$url/services/data/v62.0/limits"
grep -qi '^Sforce-Limit-Info: api-usage=2/5' "$tmp/hdr" || fail "limit header: $(cat "$tmp/hdr")"
for _ in 1 2 3; do curl -s -o /dev/null -H "$auth" "$url/services/data/v62.0/limits"; done
code=$(curl -s -o "$tmp/body" -w '%{http_code}' -H "$auth" "$url/services/data/v62.0/limits")
[ "$code" = 403 ] && grep -q REQUEST_LIMIT_EXCEEDED "$tmp/body" || fail "--api-limit: $code"
curl -sf "$url/__sfemu/" | grep -q endpoints || fail "control index"

kill -TERM "$pid"
wait "$pid" || fail "exit status $? after SIGTERM"
pid=

# one data file holding only records: the shipped schema and org fill the rest
cat >"$tmp/data.json" <<'JSON'
{"records": {"Widget__c": [{"Name": "From data file", "Ext_Id__c": "DF-1"}]}}
JSON
start --data "$tmp/data.json"
tok=$(token)
curl -sf -H "Authorization: Bearer $tok" \
    "$url/services/data/v62.0/sobjects/Widget__c/Ext_Id__c/DF-1" | grep -q 'From data file' \
    || fail "--data FILE records not loaded"
kill -TERM "$pid"; wait "$pid"; pid=

# TLS with a throw-away self-signed certificate
if command -v openssl >/dev/null; then
    openssl req -x509 -newkey rsa:2048 -nodes -keyout "$tmp/key.pem" -out "$tmp/cert.pem" \
        -days 1 -subj /CN=127.0.0.1 >/dev/null 2>&1
    start --tls-cert "$tmp/cert.pem" --tls-key "$tmp/key.pem"
    case "$url" in https://*) ;; *) fail "TLS URL is $url" ;; esac
    curl -sfk "$url/services/data/" | grep -q '"62.0"' || fail "https versions"
    kill -TERM "$pid"; wait "$pid"; pid=
fi

start
kill -INT "$pid"
wait "$pid" || fail "exit status $? after SIGINT"
pid=
echo "t_sfemu: ok"
