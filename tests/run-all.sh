#!/usr/bin/env bash
# The test command of the README (and of CI, through .ci/run): installs what is
# missing, builds sfbridge twice (plain, and with ASan+UBSan), and runs every
# ctest test in both builds: unit tests, schema validation, sfemu over HTTP,
# and the integration tests against a real Kafka broker started by ctest.
# The last line is ctest's summary of the sanitizer run.
set -euo pipefail
cd "$(dirname "$0")/.."

jobs=$(nproc 2>/dev/null || echo 2)
bash deploy/install-deps.sh

run_build() {  # dir, extra cmake args...
  local dir=$1; shift
  echo "== build $dir $*"
  cmake -S . -B "$dir" -G Ninja "$@" >/dev/null
  ninja -C "$dir" -j "$jobs" >/dev/null
  echo "== test $dir"
  ctest --test-dir "$dir" --output-on-failure -j "$jobs" -LE bench
}

run_build build -DCMAKE_BUILD_TYPE=RelWithDebInfo
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
  run_build build-asan -DSANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
