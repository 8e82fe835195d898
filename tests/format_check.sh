#!/usr/bin/env bash
# Every C file in git is formatted with the committed .clang-format (CI fails otherwise).
# Fix with: clang-format -i $(git ls-files '*.c' '*.h')
set -euo pipefail
cd "$(dirname "$0")/.."
command -v clang-format >/dev/null || { echo "clang-format is missing (deploy/install-deps.sh)"; exit 1; }
mapfile -t files < <(git ls-files '*.c' '*.h')
bad=0
for f in "${files[@]}"; do
    if ! clang-format --dry-run --Werror "$f" >/dev/null 2>&1; then
        echo "not formatted: $f"
        bad=$((bad + 1))
    fi
done
echo "${#files[@]} files checked, $bad not formatted"
[ "$bad" -eq 0 ]
