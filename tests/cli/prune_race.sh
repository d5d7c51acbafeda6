# Prune racing a writer, with real processes: a long snapshot deduplicates against data that a
# prune marks while it runs.
#  - default grace period: the writer commits, and its snapshot restores at once from another
#    client (the writer named the marked packs it used in an index file of its own);
#  - a grace period too short for writers' clock-skew allowance is refused.
# Scrub stays clean and the kept snapshot restores identical.
source "$(dirname "$0")/lib.bash" "$@"

export CAIRN_PASSWORD=race
R=$T/repo
expect_exit 0 cairn --repo "$R" init --pack-mib 1
mkdir -p "$T/keep" "$T/gone"
head -c $((2 * MiB)) /dev/urandom >"$T/keep/k.bin"
head -c $((8 * MiB)) /dev/urandom >"$T/gone/x.bin"
expect_exit 0 cairn --repo "$R" snapshot "$T/keep"

# Sends FILE in 1 MiB pieces, touches SENT, then waits for GO before ending the stream.
cat >"$T/feed.py" <<'PY'
import os, sys, time
path, sent, go = sys.argv[1:4]
with open(path, "rb") as f:
    while piece := f.read(1 << 20):
        sys.stdout.buffer.write(piece)
        sys.stdout.buffer.flush()
        time.sleep(0.05)
open(sent, "w").close()
deadline = time.time() + 120
while not os.path.exists(go) and time.time() < deadline:
    time.sleep(0.05)
PY
wait_for() { for _ in $(seq 1 600); do [[ -e $1 ]] && return 0; sleep 0.1; done; return 1; }

# round NAME GRACE: snapshot gone/, forget it, start a writer streaming the same bytes, let it
# read them all, prune twice with GRACE, then let the writer finish. Sets WRITER_RC.
round() {
  local name=$1 grace=$2
  expect_exit 0 cairn --repo "$R" --json snapshot "$T/gone"
  expect_exit 0 cairn --repo "$R" forget "$(json "$OUT" 'j["snapshot"]')"
  "$CAIRN" --repo "$R" --json snapshot --stdin-name "$name.bin" \
    --stdin-from-command -- "$PYTHON" "$T/feed.py" "$T/gone/x.bin" "$T/$name.sent" "$T/$name.go" \
    >"$T/$name.out" 2>"$T/$name.err" &
  local pid=$!
  wait_for "$T/$name.sent"
  sleep 1  # the writer chunks and deduplicates what it was sent
  expect_exit 0 cairn --repo "$R" --json prune --grace "$grace"
  check "$name: the prune marked the forgotten packs while the writer ran" \
    test "$(json "$OUT" 'j["marked_packs"]')" -gt 0
  expect_exit 0 cairn --repo "$R" --json prune --grace "$grace"
  cp "$OUT" "$T/$name.sweep.json"
  touch "$T/$name.go"
  WRITER_RC=0
  wait "$pid" || WRITER_RC=$?
}

round default 48h
check "default grace: the writer committed (exit $WRITER_RC)" test "$WRITER_RC" -eq 0
check "default grace: the second prune deleted nothing (the grace period runs)" \
  test "$(json "$T/default.sweep.json" 'j["deleted_packs"]')" -eq 0
id=$(json "$T/default.out" 'j["snapshot"]')
check "default grace: the writer deduplicated the marked data" \
  test "$(json "$T/default.out" 'j["bytes_added"] < 1024 * 1024')" = true
CAIRN_CACHE_DIR=$T/other-cache expect_exit 0 cairn --repo "$R" restore "$id" --stdout default.bin
check "default grace: another client restores the new snapshot at once, identical" \
  cmp "$OUT" "$T/gone/x.bin"
expect_exit 0 cairn --repo "$R" scrub --read-data
expect_no_grep 'missing|damaged' "$OUT" "default grace: scrub clean"

# A sweep sooner than writers' clock-skew allowance after its mark would refuse sessions that
# started after the mark: such grace periods are refused. (A writer outlived by a sweep refusing
# to commit is covered by repo/prune_test.cc on a shifted clock.)
expect_exit 2 cairn --repo "$R" prune --grace 1h
expect_grep 'no-other-writers' "$ERR" "a grace period under 2h is refused, pointing at --no-other-writers"
expect_exit 0 cairn --repo "$R" restore "$(cairn --repo "$R" --json snapshots >"$T/s.json"; json "$T/s.json" 'j[0]["id"]')" --target "$T/out"
check "the kept snapshot restores identical" cmp "$T/keep/k.bin" "$T/out/keep/k.bin"
finish
