# A full disk: a snapshot into a repository on a full filesystem, and a restore onto a full
# target. Each gives exit 15 with a message naming the cause, writes nothing half-done (no
# snapshot, no file under its final name), and leaves the repository consistent: it scrubs
# clean, earlier snapshots restore identical, and once space is freed the same snapshot works.
# Needs a small filesystem: a tmpfs (root), else it skips. repo/full_disk_test.cc covers the
# same with an injected ENOSPC at every write in turn.
source "$(dirname "$0")/lib.bash" "$@"

export CAIRN_PASSWORD=full
SMALL=$T/small
mkdir -p "$SMALL"
if [[ $(id -u) -ne 0 ]] || ! mount -t tmpfs -o size=24m,mode=0700 cairn-test "$SMALL" 2>/dev/null; then
  skip "full disk: cannot mount a small tmpfs here (needs root)"
  finish
fi
cleanup_mount() { umount "$SMALL" 2>/dev/null || umount -l "$SMALL" 2>/dev/null || true; }
trap 'cleanup_mount; on_exit' EXIT

R=$SMALL/repo
# free_kib: free space left on the small filesystem.
free_kib() { df -k --output=avail "$SMALL" | tail -n 1 | tr -d ' '; }
# fill_to KIB: a filler file leaving about KIB free.
fill_to() {
  rm -f "$SMALL/filler"
  local n=$(($(free_kib) - $1))
  if [[ $n -gt 0 ]]; then head -c $((n * 1024)) /dev/zero >"$SMALL/filler"; fi
}
# tmp_left DIR: files a writer left under temporary names.
tmp_left() { find "$1" -name '*.tmp' -o -name '.cairn-tmp-*' | wc -l; }

expect_exit 0 cairn --repo "$R" init
mkdir -p "$T/src/docs"
head -c $((1 * MiB)) /dev/urandom >"$T/src/docs/a.bin"
echo "first" >"$T/src/docs/readme.txt"
expect_exit 0 cairn --repo "$R" --json snapshot "$T/src"
first=$(json "$OUT" 'j["snapshot"]')

# --- a snapshot into a full repository
head -c $((12 * MiB)) /dev/urandom >"$T/big.dump"
fill_to 3072
expect_exit 15 cairn --repo "$R" snapshot --stdin --stdin-name big.dump <"$T/big.dump"
expect_grep 'no space left' "$ERR" "a full repository: the message names the cause"
expect_grep 'snapshot not written' "$ERR" "a full repository: the message says no snapshot was written"
check "a full repository: still one snapshot" test "$(snapshot_count "$R")" = 1
check "a full repository: no temp file left in the repository" test "$(tmp_left "$R")" = 0
# A folder snapshot fails the same way.
mkdir -p "$T/src2"
for i in $(seq 1 6); do head -c $((2 * MiB)) /dev/urandom >"$T/src2/f$i"; done
expect_exit 15 cairn --repo "$R" snapshot "$T/src2"
expect_grep 'no space left' "$ERR" "a full repository, folder snapshot: the message names the cause"
check "a full repository, folder snapshot: still one snapshot" test "$(snapshot_count "$R")" = 1
# JSON error output carries the code too.
expect_exit 15 cairn --repo "$R" --json snapshot --stdin --stdin-name big.dump <"$T/big.dump"
expect_grep '"code": *"no space"' "$ERR" "--json: the error names the code 'no space'"

expect_exit 0 cairn --repo "$R" --json scrub --read-data
check "after a full disk: scrub --read-data finds no damage" test "$(json "$OUT" 'j["damaged"]')" = false
expect_exit 0 cairn --repo "$R" restore "$first" --target "$T/out1"
check "after a full disk: the earlier snapshot restores identical" diff -r "$T/src" "$T/out1/src"

# --- space freed: the same snapshot now works
rm -f "$SMALL/filler"
expect_exit 0 cairn --repo "$R" --json snapshot --stdin --stdin-name big.dump <"$T/big.dump"
second=$(json "$OUT" 'j["snapshot"]')
expect_exit 0 cairn --repo "$R" restore "$second" --stdout
check "after freeing space: the new snapshot restores identical" cmp -s "$T/big.dump" "$OUT"
expect_exit 0 cairn --repo "$R" --json scrub --read-data
check "after freeing space: scrub --read-data finds no damage" test "$(json "$OUT" 'j["damaged"]')" = false

# --- a restore onto a full target (the repository now lives elsewhere, with room)
R2=$T/repo2
expect_exit 0 cairn --repo "$R2" init
mkdir -p "$T/src3"
echo "small" >"$T/src3/small.txt"
head -c $((8 * MiB)) /dev/urandom >"$T/src3/large.bin"
expect_exit 0 cairn --repo "$R2" --json snapshot "$T/src3"
third=$(json "$OUT" 'j["snapshot"]')
rm -rf "$R"
fill_to 4096
expect_exit 15 cairn --repo "$R2" restore "$third" --target "$SMALL/restore"
expect_grep 'no space left' "$ERR" "a full target: the message names the cause"
expect_grep 'large\.bin' "$ERR" "a full target: the message names the file"
check "a full target: no half-written large.bin under its final name" test ! -e "$SMALL/restore/src3/large.bin"
check "a full target: no temp file left behind" test "$(tmp_left "$SMALL/restore")" = 0
# Restoring a stream to stdout onto a full disk fails loudly too.
run bash -c '"$0" --repo "$1" restore "$2" --stdout src3/large.bin >"$3/stream.out"' \
  "$CAIRN" "$R2" "$third" "$SMALL"
check "restore --stdout onto a full disk: exit 15 (got $RC)" test "$RC" -eq 15
expect_grep 'no space left' "$ERR" "restore --stdout onto a full disk: the message names the cause"
rm -f "$SMALL/filler" "$SMALL/stream.out"
expect_exit 0 cairn --repo "$R2" restore "$third" --target "$SMALL/restore"
check "after freeing space: the restore completes identical" diff -r "$T/src3" "$SMALL/restore/src3"

finish
