#!/usr/bin/env bash
# Writes the lock files scripts/setup.sh installs from: every package, transitive ones included, pinned with
# its hashes, for Linux x86_64 (glibc >= 2.28) and CPython 3.11, the platform of the image and of CI.
#   requirements/runtime.txt  EXTRAS=          (the web/worker image)
#   requirements/dev.txt      EXTRAS=test,lab  (make test, make lab, make demo)
# Inputs: pyproject.toml's pins and requirements/build.in. The dev lock is resolved first and the runtime lock
# within it (as a constraint), so the image runs the very versions the tests ran. Releases newer than LOCK_DATE
# are ignored, so the same inputs always give the same lock (tests/test_lock.py re-resolves and compares). To take newer releases, bump
# LOCK_DATE (and the pins in pyproject.toml), run `make lock`, and commit the result.
# Usage: scripts/lock.sh [--check]   --check: resolve to a temporary folder and fail if a lock differs.
set -euo pipefail
cd "$(dirname "$0")/.."

LOCK_DATE=2026-12-07T00:00:00Z
UV=${UV:-$(command -v uv || echo "${VENV:-.venv}/bin/uv")}
[ -x "$UV" ] || { echo "lock: uv not found (it is in the test extra: make setup)" >&2; exit 1; }

declare -A LOCKS=([dev]="test,lab" [runtime]="")

# Resolves both locks in folder $1 (which holds pyproject.toml and requirements/build.in) into $1/requirements/.
resolve() (
  cd "$1"
  for name in dev runtime; do
    local extras=() names extra
    [ "$name" = dev ] || extras+=(--constraint requirements/dev.txt)
    IFS=, read -ra names <<< "${LOCKS[$name]}"
    for extra in "${names[@]}"; do extras+=(--extra "$extra"); done
    "$UV" pip compile --quiet pyproject.toml requirements/build.in "${extras[@]}" \
      --generate-hashes --python-version 3.11 --python-platform x86_64-manylinux_2_28 \
      --exclude-newer "$LOCK_DATE" --index-url https://pypi.org/simple --no-config \
      --custom-compile-command "make lock" --output-file "requirements/$name.txt"
  done
)

case "${1:-}" in
  "") resolve . ;;
  --check)
    # The same inputs, resolved in a scratch copy (same relative paths, so the same text), then compared.
    scratch=$(mktemp -d)
    trap 'rm -rf "$scratch"' EXIT
    mkdir "$scratch/requirements"
    cp pyproject.toml "$scratch/"
    cp requirements/build.in "$scratch/requirements/"
    resolve "$scratch"
    status=0
    for name in dev runtime; do
      diff -u "requirements/$name.txt" "$scratch/requirements/$name.txt" | head -60 || true
      if ! cmp -s "requirements/$name.txt" "$scratch/requirements/$name.txt"; then
        echo "lock: requirements/$name.txt is not what pyproject.toml resolves to; run: make lock" >&2
        status=1
      fi
    done
    exit $status ;;
  *) echo "lock: unknown option '$1' (only --check)" >&2; exit 2 ;;
esac
