#!/usr/bin/env bash
# t_org.sh - `sfbridge org ...` as a process against its own sfemu: info,
# versions, resources, limits and describe (JSON and tables), query in json,
# ndjson and csv (RFC 4180 quoting checked with Python's csv reader), queryAll
# showing a deleted row, a 2,500-row query paging over two pages, and the
# documented exit codes: 0 success, 1 Salesforce said no (MALFORMED_QUERY,
# NOT_FOUND, a wrong client secret), 2 bad usage or configuration.
. "$(dirname "$0")/lib.sh"
cli_init org
emu_start

export SFB_CLI_SECRET=$SFEMU_CLIENT_SECRET
CONF=$CLI_DIR/sfbridge.conf
cat >"$CONF" <<CONF
# kafka.brokers is required by the config schema even for org commands; no
# broker is contacted here.
kafka = { brokers = "127.0.0.1:9"; };
orgs = (
  { name = "emu"; login_url = "$EMU_URL"; timeout_ms = 10000;
    auth = { flow = "client_credentials"; client_id = "$SFEMU_CLIENT_ID";
             client_secret = "\${SFB_CLI_SECRET}"; }; },
  { name = "badsecret"; login_url = "$EMU_URL"; timeout_ms = 10000;
    auth = { flow = "client_credentials"; client_id = "$SFEMU_CLIENT_ID";
             client_secret = "\${SFB_CLI_WRONG_SECRET}"; }; }
);
CONF
export SFB_CLI_WRONG_SECRET=not-the-secret
O=(org -c "$CONF" --org emu)

# ---- info / versions / resources
run_ok info "${O[@]}" info
jq -e --arg url "$EMU_URL" '.org == "emu" and .instance_url == $url and .api_version == "62.0"
    and .username == "integration@sfemu.test" and .organization_id == "00D5j00000SfEmuEAF"
    and .api_usage.max == 15000 and .api_usage.used >= 1' "$CLI_DIR/info.out" >/dev/null ||
    fail "info: $(cat "$CLI_DIR/info.out")"
run_ok versions "${O[@]}" versions
jq -e 'type == "array" and length > 1 and (map(.version) | index("62.0") != null)
    and all(.[]; .url == "/services/data/v\(.version)")' "$CLI_DIR/versions.out" >/dev/null ||
    fail "versions: $(head -c 400 "$CLI_DIR/versions.out")"
run_ok versions_nd "${O[@]}" --format ndjson versions
assert_eq "$(jq length "$CLI_DIR/versions.out")" "$(wc -l <"$CLI_DIR/versions_nd.out")" \
    "versions --format ndjson: one line per version"
run_ok resources "${O[@]}" resources
jq -e '.sobjects == "/services/data/v62.0/sobjects" and .query == "/services/data/v62.0/query"
    and .limits == "/services/data/v62.0/limits"' "$CLI_DIR/resources.out" >/dev/null ||
    fail "resources: $(head -c 400 "$CLI_DIR/resources.out")"

# ---- limits: JSON and table agree
run_ok limits "${O[@]}" limits
jq -e '.DailyApiRequests.Max == 15000 and (.DailyApiRequests.Remaining | . > 0 and . < 15000)' \
    "$CLI_DIR/limits.out" >/dev/null || fail "limits: $(head -c 400 "$CLI_DIR/limits.out")"
run_ok limits_t "${O[@]}" limits --format table
read -r -a hdr <"$CLI_DIR/limits_t.out"
assert_eq "Limit Max Remaining" "${hdr[*]}" "limits table header"
assert_eq "$(($(jq length "$CLI_DIR/limits.out") + 1))" "$(wc -l <"$CLI_DIR/limits_t.out")" \
    "limits table: one line per limit"
awk '$1 == "DailyApiRequests" { found = ($2 == 15000 && $3 > 0 && $3 < 15000) } END { exit !found }' \
    "$CLI_DIR/limits_t.out" || fail "limits table: no DailyApiRequests 15000 row"
max_fa=$(jq '.DataStorageMB.Max' "$CLI_DIR/limits.out")
awk -v m="$max_fa" '$1 == "DataStorageMB" && $2 == m { ok = 1 } END { exit !ok }' \
    "$CLI_DIR/limits_t.out" || fail "limits table: DataStorageMB Max differs from JSON ($max_fa)"

# ---- describe
run_ok desc "${O[@]}" describe Account
jq -e '.name == "Account" and .keyPrefix == "001"
    and (.fields | map(select(.name == "Name" and .type == "string")) | length == 1)' \
    "$CLI_DIR/desc.out" >/dev/null || fail "describe Account: $(head -c 400 "$CLI_DIR/desc.out")"
run_ok desc_t "${O[@]}" describe Account --format table
assert_eq "name	type	length	nillable	createable	updateable	label" \
    "$(head -n1 "$CLI_DIR/desc_t.out")" "describe table header"
assert_eq "$(($(jq '.fields | length' "$CLI_DIR/desc.out") + 1))" "$(wc -l <"$CLI_DIR/desc_t.out")" \
    "describe table: one line per field"
grep -qP '^Name\tstring\t255\tfalse\ttrue\ttrue\tAccount Name$' "$CLI_DIR/desc_t.out" ||
    fail "describe table: no Name row: $(grep '^Name' "$CLI_DIR/desc_t.out")"
run_ok gdesc "${O[@]}" describe
jq -e '.sobjects | map(.name) | index("Account") != null and index("Contact") != null' \
    "$CLI_DIR/gdesc.out" >/dev/null || fail "describe (global): $(head -c 300 "$CLI_DIR/gdesc.out")"
run_ok gdesc_t "${O[@]}" --format table describe
assert_eq "name	label	keyPrefix	custom	queryable" "$(head -n1 "$CLI_DIR/gdesc_t.out")" \
    "global describe table header"
grep -qP '^Account\tAccount\t001\tfalse\ttrue$' "$CLI_DIR/gdesc_t.out" ||
    fail "global describe table: no Account row"
sfb desc_none "${O[@]}" describe NoSuchObject__c
expect_rc 1 desc_none
assert_contains "$CLI_DIR/desc_none.err" "NOT_FOUND" "describe of an unknown sObject"

# ---- query: json, ndjson, csv
tricky='Acme, "Quoted" Inc'
emu_ctl POST records "$(jq -nc --arg n "$tricky" '{Account: [
    {Name: $n, Industry: "Energy", NumberOfEmployees: 42},
    {Name: "Plain Co", Industry: "Retail"},
    {Name: "Line\nBreak Ltd"}]}')" >/dev/null
SOQL="SELECT Id, Name, Industry, NumberOfEmployees FROM Account WHERE Name IN ('$tricky', 'Plain Co') ORDER BY Name"
run_ok q_json "${O[@]}" query "$SOQL"
jq -e --arg n "$tricky" 'length == 2 and .[0].Name == $n and .[0].NumberOfEmployees == 42
    and .[1].Name == "Plain Co" and .[1].NumberOfEmployees == null
    and (.[0].Id | test("^001[A-Za-z0-9]{15}$")) and .[0].attributes.type == "Account"' \
    "$CLI_DIR/q_json.out" >/dev/null || fail "query json: $(cat "$CLI_DIR/q_json.out")"
run_ok q_nd "${O[@]}" query --format ndjson "$SOQL"
assert_eq 2 "$(wc -l <"$CLI_DIR/q_nd.out")" "query ndjson lines"
assert_eq "$(jq -c '.[]' "$CLI_DIR/q_json.out")" "$(jq -c . "$CLI_DIR/q_nd.out")" \
    "ndjson rows equal the json rows"
run_ok q_csv "${O[@]}" query --format csv "$SOQL"
grep -qF '"Acme, ""Quoted"" Inc"' "$CLI_DIR/q_csv.out" ||
    fail "csv quoting: $(cat "$CLI_DIR/q_csv.out")"
python3 - "$CLI_DIR/q_csv.out" "$CLI_DIR/q_json.out" <<'PY' || fail "csv does not parse back to the rows"
import csv, json, sys
rows = list(csv.reader(open(sys.argv[1], newline="")))
want = json.load(open(sys.argv[2]))
assert rows[0] == ["Id", "Name", "Industry", "NumberOfEmployees"], rows[0]
assert len(rows) == 1 + len(want), rows
for got, w in zip(rows[1:], want):
    exp = [w["Id"], w["Name"], w["Industry"], "" if w["NumberOfEmployees"] is None else str(w["NumberOfEmployees"])]
    assert got == exp, (got, exp)
PY
# A newline inside a value stays inside one quoted CSV cell.
run_ok q_csv_nl "${O[@]}" query --format csv "SELECT Name FROM Account WHERE Name LIKE 'Line%'"
python3 -c 'import csv,sys; r=list(csv.reader(open(sys.argv[1], newline=""))); assert r == [["Name"], ["Line\nBreak Ltd"]], r' \
    "$CLI_DIR/q_csv_nl.out" || fail "csv with a newline: $(cat "$CLI_DIR/q_csv_nl.out")"
# No rows: valid empty JSON array, no ndjson lines.
run_ok q_empty "${O[@]}" query "SELECT Id FROM Account WHERE Name = 'nobody at all'"
assert_eq "[]" "$(jq -c . "$CLI_DIR/q_empty.out")" "empty query json"

# ---- queryAll: a deleted row appears only with --all
gone_id=$(emu_ctl POST records '{"Account":[{"Name":"Gone Corp"}]}' | jq -r '.Account[0]')
tok=$(emu_token) || fail "no token for curl"
code=$(curl -sS -o /dev/null -w '%{http_code}' -X DELETE -H "Authorization: Bearer $tok" \
    "$EMU_URL/services/data/v62.0/sobjects/Account/$gone_id")
assert_eq 204 "$code" "DELETE Account"
GONE="SELECT Id, Name, IsDeleted FROM Account WHERE Name = 'Gone Corp'"
run_ok q_live "${O[@]}" query "$GONE"
assert_eq 0 "$(jq length "$CLI_DIR/q_live.out")" "query (not --all) hides the deleted row"
run_ok q_all "${O[@]}" query --all "$GONE"
jq -e --arg id "$gone_id" 'length == 1 and .[0].Id == $id and .[0].IsDeleted == true' \
    "$CLI_DIR/q_all.out" >/dev/null || fail "query --all: $(cat "$CLI_DIR/q_all.out")"

# ---- 2,500 rows page over two query calls (sfemu's batch is 2,000)
emu_ctl POST records "$(jq -nc '{Contact: [range(2500) | {LastName: "Bulk \(.)"}]}')" >/dev/null
before=$(emu_ctl GET counters | jq '.api_calls.by_resource.query // 0')
BULK="SELECT Id, LastName FROM Contact WHERE LastName LIKE 'Bulk %'"
run_ok q_bulk "${O[@]}" query --format ndjson "$BULK"
after=$(emu_ctl GET counters | jq '.api_calls.by_resource.query // 0')
assert_eq 2500 "$(wc -l <"$CLI_DIR/q_bulk.out")" "bulk query rows"
assert_eq 2500 "$(jq -r .Id "$CLI_DIR/q_bulk.out" | sort -u | wc -l)" "bulk query distinct ids"
assert_eq 2500 "$(jq -r .LastName "$CLI_DIR/q_bulk.out" | sort -u | wc -l)" "bulk query distinct names"
assert_eq 2 "$((after - before))" "query calls for 2,500 rows (first page + nextRecordsUrl)"
run_ok q_bulk_json "${O[@]}" query "$BULK"
assert_eq 2500 "$(jq length "$CLI_DIR/q_bulk_json.out")" "bulk query as one JSON array"
run_ok q_bulk_csv "${O[@]}" query --format csv "$BULK"
assert_eq 2501 "$(wc -l <"$CLI_DIR/q_bulk_csv.out")" "bulk query csv lines (header + rows)"

# ---- a failure on the second page: rows of the first page were streamed,
# exit 1 with Salesforce's error. Regression: the JSON array was closed as if
# complete, so `jq length` read 2,000 of 2,500 rows as the whole answer.
FAULT='{"error":{"status":500,"errorCode":"UNKNOWN_EXCEPTION","message":"page two broke","next":1,"path_prefix":"/services/data/v62.0/query/"}}'
emu_ctl POST faults "$FAULT" >/dev/null
sfb q_mid_nd "${O[@]}" query --format ndjson "$BULK"
expect_rc 1 q_mid_nd
assert_contains "$CLI_DIR/q_mid_nd.err" "UNKNOWN_EXCEPTION: page two broke" "error on page 2"
assert_eq 2000 "$(wc -l <"$CLI_DIR/q_mid_nd.out")" "rows streamed before the error"
emu_ctl POST faults "$FAULT" >/dev/null
sfb q_mid_json "${O[@]}" query "$BULK"
expect_rc 1 q_mid_json
if jq -e . "$CLI_DIR/q_mid_json.out" >/dev/null 2>&1; then
    fail "a query that failed on page 2 printed a complete JSON array"
fi
emu_ctl DELETE faults >/dev/null

# ---- failures and exit codes
sfb q_bad "${O[@]}" query "SELEC Id FROM Account"
expect_rc 1 q_bad
assert_contains "$CLI_DIR/q_bad.err" "MALFORMED_QUERY" "malformed query"
assert_contains "$CLI_DIR/q_bad.err" "unexpected token: 'SELEC'" "Salesforce's message"
[[ ! -s $CLI_DIR/q_bad.out ]] || fail "malformed query printed rows: $(cat "$CLI_DIR/q_bad.out")"
sfb q_badfield "${O[@]}" query --format csv "SELECT NoSuchField__c FROM Account"
expect_rc 1 q_badfield
assert_contains "$CLI_DIR/q_badfield.err" "INVALID_FIELD" "unknown field"

sfb badorg org -c "$CONF" --org nosuchorg info
expect_rc 2 badorg
assert_contains "$CLI_DIR/badorg.err" 'no org named "nosuchorg"' "bad org name"
sfb twoorgs org -c "$CONF" info
expect_rc 2 twoorgs
assert_contains "$CLI_DIR/twoorgs.err" "choose one with --org NAME" "two orgs without --org"

sfb badsecret org -c "$CONF" --org badsecret info
expect_rc 1 badsecret
assert_contains "$CLI_DIR/badsecret.err" "invalid_client" "wrong client secret: Salesforce's error"
assert_contains "$CLI_DIR/badsecret.err" "check client_id and client_secret" \
    "wrong client secret: what to do"
assert_lacks "$CLI_DIR/badsecret.err" "$SFB_CLI_WRONG_SECRET" "wrong client secret echoed"

# Salesforce unreachable (nothing listens on port 9): exit 1, the transport error.
DOWN=$CLI_DIR/down.conf
sed -e "s|$EMU_URL|http://127.0.0.1:9|g" "$CONF" >"$DOWN"
sfb down org -c "$DOWN" --org emu info
expect_rc 1 down
assert_contains "$CLI_DIR/down.err" "127.0.0.1 port 9" "unreachable org: the address"

sfb nocmd "${O[@]}" frobnicate
expect_rc 2 nocmd
sfb nosoql "${O[@]}" query
expect_rc 2 nosoql
assert_contains "$CLI_DIR/nosoql.err" "query needs a SOQL statement" "query without SOQL"
# Regression: extra words were ignored, so an unquoted SOQL ran as "SELECT".
sfb unquoted "${O[@]}" query SELECT Id FROM Account
expect_rc 2 unquoted
assert_contains "$CLI_DIR/unquoted.err" 'unexpected argument "Id" (quote the SOQL' "unquoted SOQL"
sfb extra "${O[@]}" describe Account Contact
expect_rc 2 extra
sfb extra2 "${O[@]}" limits now
expect_rc 2 extra2
sfb badfmt "${O[@]}" --format xml limits
expect_rc 2 badfmt
sfb csvlimits "${O[@]}" --format csv limits
expect_rc 2 csvlimits
sfb noconf org info
expect_rc 2 noconf
sfb missingconf org -c "$CLI_DIR/does-not-exist.conf" info
expect_rc 2 missingconf
unset SFB_CLI_SECRET
sfb noenv "${O[@]}" info
expect_rc 2 noenv
assert_contains "$CLI_DIR/noenv.err" "SFB_CLI_SECRET" "unset secret variable named"
export SFB_CLI_SECRET=$SFEMU_CLIENT_SECRET
run_ok help "${O[@]}" --help
assert_contains "$CLI_DIR/help.out" "query [--all] SOQL" "org --help"

cli_pass
