# `cairn bench restore` and progress reporting: a TTY gets a status line, --json gets JSON lines,
# a plain pipe gets nothing.
source "$(dirname "$0")/lib.bash" "$@"

export CAIRN_PASSWORD=bench
R=$T/repo
expect_exit 0 cairn --repo "$R" init
mkdir -p "$T/src"
head -c $((24 * MiB)) /dev/urandom >"$T/src/a.bin"
head -c $((8 * MiB)) /dev/zero >"$T/src/zeros.bin"
expect_exit 0 cairn --repo "$R" snapshot "$T/src"
check "snapshot on a pipe: no progress output" test ! -s "$ERR"

expect_exit 0 cairn --repo "$R" --json bench restore latest --threads 1,2 --repeat 2
check "bench restore --json: 2 thread counts x cold and warm" test "$(json "$OUT" 'len(j["runs"])')" -eq 4
check "bench restore --json: each run restored 32 MiB, 2 timings, positive MB/s" \
  test "$(json "$OUT" 'all(r["bytes"] == 32 * 1048576 and len(r["seconds"]) == 2 and r["median_mb_per_s"] > 0 for r in j["runs"])')" = true
check "bench restore --json: decode-only mode is stated" \
  test "$(json "$OUT" '"decode only" in j["mode"]')" = true
expect_exit 0 cairn --repo "$R" bench restore latest --threads 2 --repeat 1 --target "$T/scratch" --warm-only
expect_grep 'restore to' "$OUT" "bench restore --target: says where it restores"
expect_grep '^ +2 +warm' "$OUT" "bench restore: one warm row for 2 threads"
check "bench restore --target: scratch copies are removed" test -z "$(ls -A "$T/scratch" 2>/dev/null)"
expect_exit 2 cairn --repo "$R" bench restore latest --threads 0
expect_exit 2 cairn --repo "$R" bench restore latest --threads 1,x

# A terminal gets a redrawn status line with a rate (slow the run down so it lasts > 0.2 s).
if command -v script >/dev/null; then
  head -c $((200 * MiB)) /dev/urandom >"$T/big.bin"
  script -qec "$CAIRN --repo $R snapshot --threads 1 $T/big.bin" /dev/null >"$T/tty.txt" 2>&1 || true
  expect_grep 'snapshot .*/s' "$T/tty.txt" "snapshot on a terminal: shows bytes and a rate"
else
  pass "no 'script' here: terminal progress not checked"
fi
# --json: progress lines are JSON objects on stderr, the result is JSON on stdout.
expect_exit 0 cairn --repo "$R" --json snapshot --force --threads 1 "$T/big.bin"
check "--json: stdout is one JSON result" test "$(json "$OUT" '"snapshot" in j')" = true
check "--json: every stderr line is JSON" \
  "$PYTHON" -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1]) if l.strip()]' "$ERR"

finish
