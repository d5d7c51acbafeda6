# Shared helpers for the end-to-end CLI tests. Sourced, never run: each test is
#   bash tests/cli/X.sh /path/to/cairn
# and ends with a line "N passed, M failed" (exit status 0 only when M is 0).
#
# What a test gets:
#   CAIRN            absolute path of the binary under test
#   T                a private temporary folder, removed on exit
#   CAIRN_CACHE_DIR  $T/cache (exported), so no test touches ~/.cache
#   cairn ARGS...    runs the binary
#   run CMD...       runs CMD with stdout in $OUT and stderr in $ERR (files); sets RC
#   expect_exit CODE CMD...   run, then one check: the exit status is CODE
#   expect_grep REGEX FILE [WHAT]      one check: FILE matches the extended REGEX
#   expect_no_grep REGEX FILE [WHAT]   one check: FILE does not match it
#   check WHAT CMD...         one check: CMD succeeds
#   pass WHAT / fail WHAT     record a check by hand
#   skip WHAT                 a check that cannot run here: noted, counted as passed
#   known_bug WHAT CMD...     a check that fails because of a reported, unfixed bug: noted and
#                             counted as passed while it fails; says so loudly once it passes
#   json FILE EXPR            prints the Python expression EXPR over j = the JSON in FILE
#   $PYTHON                   python3, resolved once
#   snapshot_count REPO, repo_bytes REPO, flip_byte FILE middle|OFFSET, biggest_pack REPO
#   finish                    prints the closing line and exits
# Checks record failures and go on; a setup command that fails ends the test (set -e) and
# is counted as one more failure.
# Counters live in this shell: never call a check inside a pipeline or $(...).

set -euo pipefail
set -E

if [[ $# -lt 1 || ! -x "$1" ]]; then
  echo "usage: bash $0 /path/to/cairn" >&2
  exit 2
fi
CAIRN=$(realpath "$1")
TEST_NAME=$(basename "$0" .sh)
T=$(mktemp -d "${TMPDIR:-/tmp}/cairn-cli-$TEST_NAME.XXXXXX")
export CAIRN_CACHE_DIR=$T/cache
unset CAIRN_REPO CAIRN_PASSWORD CAIRN_PASSWORD_FILE CAIRN_PASSWORD_COMMAND
export LC_ALL=C.UTF-8
# The interpreter itself, not a version manager's shim that costs 0.3 s a call.
PYTHON=$(python3 -c 'import sys; print(sys.executable)')
OUT=$T/.stdout
ERR=$T/.stderr
RC=0
PASSED=0
FAILED=0
FINISHED=0
MiB=$((1024 * 1024))

on_exit() {
  local rc=$?
  if [[ $FINISHED -eq 0 ]]; then
    echo "FAIL: $TEST_NAME stopped early (exit status $rc)" >&2
    echo "$PASSED passed, $((FAILED + 1)) failed"
    rc=1
  fi
  chmod -R u+rwX "$T" 2>/dev/null || true
  rm -rf "$T"
  exit "$rc"
}
trap on_exit EXIT
trap 'echo "FAIL: line $LINENO: command failed: $BASH_COMMAND" >&2' ERR

cairn() { "$CAIRN" "$@"; }

pass() {
  PASSED=$((PASSED + 1))
  echo "ok   $*"
}

fail() {
  FAILED=$((FAILED + 1))
  echo "FAIL $*"
}

skip() {
  PASSED=$((PASSED + 1))
  echo "skip $* (counted as passed)"
}

known_bug() {
  local what=$1
  shift
  if "$@" >/dev/null 2>&1; then
    pass "$what (a known bug that is now FIXED: make this an ordinary check)"
  else
    PASSED=$((PASSED + 1))
    echo "skip $what (KNOWN BUG, not fixed yet; counted as passed)"
  fi
}

# Prints the captured output of the last `run`, indented, for a failure report.
show_output() {
  echo "     --- stdout (first lines)"
  head -c 2000 "$OUT" | head -n 15 | sed 's/^/     /'
  echo "     --- stderr (first lines)"
  head -c 2000 "$ERR" | head -n 15 | sed 's/^/     /'
}

run() {
  RC=0
  "$@" >"$OUT" 2>"$ERR" || RC=$?
}

# The command's words, for messages, with `cairn` for the binary.
describe() {
  local s="" a
  for a in "$@"; do
    [[ $a == "$CAIRN" ]] && a=cairn
    [[ $a == *[[:space:]]* ]] && printf -v a '%q' "$a"
    s+="${s:+ }$a"
  done
  printf '%s' "$s"
}

expect_exit() {
  local want=$1
  shift
  run "$@"
  if [[ $RC -eq $want ]]; then
    pass "exit $want: $(describe "$@")"
  else
    fail "exit $RC, want $want: $(describe "$@")"
    show_output
  fi
}

expect_grep() {
  local re=$1 file=$2 what=${3:-"$(basename "$2") matches /$1/"}
  if grep -Eqi -- "$re" "$file"; then
    pass "$what"
  else
    fail "$what"
    echo "     --- $(basename "$file"):"
    head -c 2000 "$file" | head -n 15 | sed 's/^/     /'
  fi
}

expect_no_grep() {
  local re=$1 file=$2 what=${3:-"$(basename "$2") does not match /$1/"}
  if grep -Eqi -- "$re" "$file"; then
    fail "$what"
    grep -Ei -- "$re" "$file" | head -n 5 | sed 's/^/     /'
  else
    pass "$what"
  fi
}

check() {
  local what=$1
  shift
  if "$@"; then pass "$what"; else fail "$what"; fi
}

# json FILE EXPR: evaluates EXPR with j bound to the parsed JSON of FILE and prints the result
# (JSON for lists, dicts and booleans, so `true`/`false` compare as in the output).
json() {
  "$PYTHON" - "$1" "$2" <<'EOF'
import json, sys
with open(sys.argv[1], encoding="utf-8") as f:
    j = json.load(f)
v = eval(sys.argv[2], {"j": j, "len": len, "sorted": sorted, "set": set, "any": any, "all": all, "abs": abs})
print(v if isinstance(v, str) else json.dumps(v))
EOF
}

# snapshot_count REPO: how many snapshots `snapshots --json` lists (setup: fails on error).
snapshot_count() {
  "$CAIRN" --repo "$1" --json snapshots >"$T/.count.json"
  json "$T/.count.json" 'len(j)'
}

# flip_byte FILE middle|OFFSET: damages one byte in place (bit 0 flipped).
flip_byte() {
  "$PYTHON" - "$1" "$2" <<'EOF'
import sys
path, where = sys.argv[1], sys.argv[2]
with open(path, "r+b") as f:
    n = f.seek(0, 2) // 2 if where == "middle" else int(where)
    f.seek(n)
    b = f.read(1)
    f.seek(n)
    f.write(bytes([b[0] ^ 0x01]))
EOF
}

# biggest_pack REPO: the path of the largest pack file.
biggest_pack() { find "$1/data" -type f -printf '%s %p\n' | sort -n | tail -n 1 | cut -d' ' -f2; }

# repo_bytes REPO: total size of the repository's files.
repo_bytes() { du -sb "$1" | cut -f1; }

# tree_listing DIR: one line per entry below DIR, sorted, with type, mode, size, mtime (ns)
# and symlink target; names are printed with Python's repr so any byte is visible.
# Symlink mtimes are left out unless LISTING_SYMLINK_MTIME=1.
tree_listing() {
  "$PYTHON" - "$1" "${LISTING_SYMLINK_MTIME:-0}" <<'EOF'
import os, stat, sys
root, link_mtime = os.fsencode(sys.argv[1]), sys.argv[2] == "1"
rows = []
for dirpath, dirnames, filenames in os.walk(root):
    for name in dirnames + filenames:
        p = os.path.join(dirpath, name)
        st = os.lstat(p)
        rel = os.path.relpath(p, root)
        if stat.S_ISLNK(st.st_mode):
            rows.append((rel, "link", "-", "-", str(st.st_mtime_ns) if link_mtime else "-",
                         repr(os.readlink(p))))
        elif stat.S_ISDIR(st.st_mode):
            rows.append((rel, "dir", "%o" % stat.S_IMODE(st.st_mode), "-", str(st.st_mtime_ns), ""))
        else:
            rows.append((rel, "file", "%o" % stat.S_IMODE(st.st_mode), str(st.st_size),
                         str(st.st_mtime_ns), ""))
for r in sorted(rows):
    print(repr(r[0]), *r[1:])
EOF
}

finish() {
  FINISHED=1
  echo "$PASSED passed, $FAILED failed"
  if [[ $FAILED -ne 0 ]]; then exit 1; fi
  exit 0
}
