#!/usr/bin/env bash
# Installs every Debian package sfbridge's build, tests and quickstart need.
# Idempotent and quiet on success: it does nothing when everything is present.
# Run as root or with sudo available.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git
  librdkafka-dev libcurl4-openssl-dev libjansson-dev libssl-dev libconfig-dev
  libmicrohttpd-dev libcmocka-dev
  kcat curl ca-certificates openssl python3 jq   # jq: JSON checks in integration tests
  clang clang-format                    # libFuzzer targets and formatting
  openjdk-17-jdk-headless maven         # the real Kafka broker of the tests
  nodejs npm                            # ajv, the JSON Schema validator of the tests
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Node and npm may come from outside Debian (e.g. a preinstalled runtime): accept those.
if command -v node >/dev/null && command -v npm >/dev/null; then
  missing=("${missing[@]/nodejs/}"); missing=("${missing[@]/npm/}")
fi
if command -v java >/dev/null && java -version 2>&1 | grep -qE 'version "(1[7-9]|2[0-9])'; then
  missing=("${missing[@]/openjdk-17-jdk-headless/}")
fi
if command -v mvn >/dev/null; then missing=("${missing[@]/maven/}"); fi
read -r -a missing <<<"${missing[*]}"
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! { $sudo apt-get update -qq && \
       DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >"$log" 2>&1; then
  cat "$log" >&2
  echo "install-deps: apt-get failed for: ${missing[*]}" >&2
  exit 1
fi
