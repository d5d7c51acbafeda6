# Rollback in place (`restore SNAP:app --target DIR --in-place --delete`): the plan, the
# rollback, its undo through the pre-rollback snapshot, --verify, exit codes, and a rollback
# killed with SIGKILL then run again.
source "$(dirname "$0")/lib.bash" "$@"

export CAIRN_PASSWORD=rollback
R=$T/repo
A=$T/srv/app
expect_exit 0 cairn --repo "$R" init

# ------------------------------------------------------------------ a deployed tree
mkdir -p "$A/conf" "$A/lib" "$A/src/module"
head -c $((3 * MiB)) /dev/urandom >"$A/lib/big.so"
for i in $(seq 1 40); do printf 'source %d\n' "$i" >"$A/src/module/f$i.c"; done
printf 'port: 8080\n' >"$A/conf/app.yaml"
printf '#!/bin/sh\nexec app\n' >"$A/run"
chmod 0755 "$A/run"
ln -s lib "$A/current"
touch -d '2020-01-01 00:00:00' "$A/conf" "$A/src/module" "$A"
expect_exit 0 cairn --repo "$R" --json snapshot "$A"
good=$(json "$OUT" 'j["snapshot"]')
tree_listing "$A" >"$T/good.list"

# ------------------------------------------------------------------ the bad change
printf 'port: broken\n' >"$A/conf/app.yaml"
printf 'X' | dd of="$A/lib/big.so" bs=1 seek=$((MiB + 17)) conv=notrunc status=none
rm "$A/src/module/f7.c"
echo "-- new migration" >"$A/src/module/0042.sql"
chmod 0700 "$A/run"
tree_listing "$A" >"$T/broken.list"
(cd "$A" && find . -type f -print0 | sort -z | xargs -0 sha256sum) >"$T/broken.sums"

# ------------------------------------------------------------------ usage errors
expect_exit 2 cairn --repo "$R" restore "$good" --target "$A" --in-place --delete
expect_grep "restore ${good:0:8}:app" "$ERR" "without :app, the in-place restore names the folder to restore"
expect_exit 2 cairn --repo "$R" restore "$good:app" --target "$T/x" --delete
expect_exit 2 cairn --repo "$R" restore "$good:app" --target "$A" --in-place --include 'conf/*'
expect_exit 2 cairn --repo "$R" restore "$good:app" --stdout --verify

# ------------------------------------------------------------------ dry run
expect_exit 0 cairn --repo "$R" restore "$good:app" --target "$A" --in-place --delete --dry-run
expect_grep '^  write +conf/app.yaml' "$OUT" "dry run lists the file to write"
expect_grep '^  delete +src/module/0042.sql' "$OUT" "dry run lists the file to delete"
expect_grep '^  create +src/module/f7.c' "$OUT" "dry run lists the file to create"
expect_grep 'read from the repository' "$OUT" "dry run states the bytes read from the repository"
expect_exit 0 cairn --repo "$R" --json restore "$good:app" --target "$A" --in-place --delete --dry-run
check "dry run --json: counts" test "$(json "$OUT" '[j["dry_run"], j["files"], j["deleted"], j["metadata"] >= 1]')" = "[true, 3, 1, true]"
check "dry run --json: changes listed" test "$(json "$OUT" 'sorted(c["action"] + " " + c["path"] for c in j["changes"] if c["action"] != "metadata")')" = '["create src/module/f7.c", "delete src/module/0042.sql", "write conf/app.yaml", "write lib/big.so"]'
check "dry run --json: a small part of big.so is read from the repository" \
  test "$(json "$OUT" 'j["bytes_fetched"] < 1024 * 1024 and j["bytes_reused"] > 2 * 1024 * 1024')" = true
(cd "$A" && find . -type f -print0 | sort -z | xargs -0 sha256sum) >"$T/after-dry.sums"
check "dry run changed no byte" cmp -s "$T/broken.sums" "$T/after-dry.sums"
tree_listing "$A" >"$T/after-dry.list"
check "dry run changed no metadata" cmp -s "$T/broken.list" "$T/after-dry.list"

# ------------------------------------------------------------------ the rollback
expect_exit 0 cairn --repo "$R" restore "$good:app" --target "$A" --in-place --delete
expect_grep 'pre-rollback snapshot [0-9a-f]{8}' "$OUT" "the pre-rollback snapshot id is printed"
expect_grep "undo with:" "$OUT" "the undo command is printed"
undo_cmd=$(grep -E '^  cairn restore' "$OUT" | sed 's/^  cairn //')
tree_listing "$A" >"$T/rolled.list"
check "the tree matches the snapshot again" cmp -s "$T/good.list" "$T/rolled.list"
expect_exit 0 cairn --repo "$R" --json snapshots
check "the pre-rollback snapshot is tagged" test "$(json "$OUT" '[s["tags"] for s in j if "pre-rollback" in s["tags"]]')" = "[[\"pre-rollback\", \"rollback-to:${good:0:8}\"]]"

expect_exit 0 cairn --repo "$R" restore "$good:app" --target "$A" --in-place --delete
expect_grep 'already matches' "$OUT" "a second rollback finds nothing to do"
check "and takes no second pre-rollback snapshot" test "$(snapshot_count "$R")" = 2
expect_exit 0 cairn --repo "$R" --json restore "$good:app" --target "$A" --in-place --delete --checksum
check "with nothing to do, --checksum reads each file once" \
  test "$(json "$OUT" 'j["compared"]')" = "$(find "$A" -type f | wc -l)"

# ------------------------------------------------------------------ undo
# shellcheck disable=SC2086
expect_exit 0 cairn --repo "$R" $undo_cmd
tree_listing "$A" >"$T/undone.list"
check "the undo brings the broken state back" cmp -s "$T/broken.list" "$T/undone.list"
(cd "$A" && find . -type f -print0 | sort -z | xargs -0 sha256sum) >"$T/undone.sums"
check "byte for byte" cmp -s "$T/broken.sums" "$T/undone.sums"

# ------------------------------------------------------------------ verify, conflicts, no undo
expect_exit 0 cairn --repo "$R" restore "$good:app" --target "$A" --in-place --delete --verify --no-undo-snapshot
expect_grep 'verified [1-9][0-9]* files read back from disk, 0 differ' "$OUT" "--verify reports what it read back"
expect_grep 'warning: --no-undo-snapshot' "$ERR" "--no-undo-snapshot warns"
expect_exit 0 cairn --repo "$R" --json restore "$good" --target "$T/fresh" --verify
check "--verify on a plain restore" test "$(json "$OUT" '[j["verified"], j["verify_mismatches"]]')" = "[43, 0]"
rm "$A/run"
mkdir -p "$A/run/inside"
expect_exit 1 cairn --repo "$R" restore "$good:app" --target "$A" --in-place --no-undo-snapshot
expect_grep 'run: a folder in the target' "$ERR" "a folder where the snapshot has a file is a conflict without --delete"
check "and is left alone" test -d "$A/run/inside"
expect_exit 0 cairn --repo "$R" restore "$good:app" --target "$A" --in-place --delete --no-undo-snapshot
check "--delete replaces it" test -f "$A/run"

# ------------------------------------------------------------------ killed, then run again
# Files are renamed into place a batch (256 files) at a time: 600 files make several batches.
K=$T/srv/big
mkdir -p "$K"
for i in $(seq 1 600); do head -c $((64 * 1024)) /dev/urandom >"$K/part$i"; done
cp -a "$K" "$T/big-orig"
expect_exit 0 cairn --repo "$R" --json snapshot "$K"
big=$(json "$OUT" 'j["snapshot"]')
tree_listing "$K" >"$T/big.list"
rm "$K"/part*
for f in $(seq 1 300 | sed 's/^/part/'); do printf 'stale %s\n' "$f" >"$K/$f"; done
"$CAIRN" --repo "$R" restore "$big:big" --target "$K" --in-place --delete --no-undo-snapshot --threads 1 \
  >/dev/null 2>&1 &
pid=$!
for _ in $(seq 1 1000); do
  [[ -n "$(find "$K" -name '.cairn-tmp-*' -print -quit)" ]] && break
  sleep 0.005
done
sleep 0.1
if kill -9 "$pid" 2>/dev/null; then
  wait "$pid" 2>/dev/null || true
  pass "restore killed with SIGKILL ($(find "$K" -name '.cairn-tmp-*' | wc -l) temporary files left)"
else
  wait "$pid" 2>/dev/null || true
  skip "the restore finished before the kill"
fi
half=0
for f in "$K"/part*; do
  n=$(basename "$f")
  cmp -s "$f" "$T/big-orig/$n" || [[ "$(cat "$f")" == "stale ${n}" ]] || half=$((half + 1))
done
check "after the kill every file is either old or new" test "$half" = 0
expect_exit 0 cairn --repo "$R" restore "$big:big" --target "$K" --in-place --delete --no-undo-snapshot
tree_listing "$K" >"$T/big-after.list"
check "the re-run ends identical to the snapshot" cmp -s "$T/big.list" "$T/big-after.list"
check "no temporary file is left" test -z "$(find "$K" -name '.cairn-tmp-*')"

finish
