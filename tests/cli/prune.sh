# Prune: forget + prune frees space, two-phase by default, at once with --no-other-writers;
# --dry-run changes nothing; what remains restores and scrubs clean.
source "$(dirname "$0")/lib.bash" "$@"

export CAIRN_PASSWORD=prune
R=$T/repo
expect_exit 0 cairn --repo "$R" init
repo_bytes() { du -sb "$R/data" | cut -f1; }
mkdir -p "$T/keep" "$T/gone"
head -c $((3 * MiB)) /dev/urandom >"$T/keep/a.bin"
head -c $((6 * MiB)) /dev/urandom >"$T/gone/b.bin"
expect_exit 0 cairn --repo "$R" snapshot --tag keep "$T/keep"
expect_exit 0 cairn --repo "$R" --json snapshot --tag gone "$T/gone"
gone_id=$(json "$OUT" 'j["snapshot"]')
full=$(repo_bytes)

expect_exit 0 cairn --repo "$R" forget "$gone_id"
check "forget by id removes one snapshot" test "$(snapshot_count "$R")" -eq 1

before=$(find "$R" -type f | sort | xargs sha256sum | sha256sum)
expect_exit 0 cairn --repo "$R" --json prune --dry-run
check "dry run reports the forgotten data as reclaimable" \
  test "$(json "$OUT" 'j["reclaimable_bytes"] > 5 * 1024 * 1024')" = true
after=$(find "$R" -type f | sort | xargs sha256sum | sha256sum)
check "dry run changes no file of the repository" test "$before" = "$after"

expect_exit 0 cairn --repo "$R" --json prune
check "first prune marks packs for later" test "$(json "$OUT" 'j["marked_packs"] > 0 and j["deleted_packs"] == 0')" = true
check "... and frees nothing yet (grace period)" test "$(repo_bytes)" -ge "$full"
expect_exit 0 cairn --repo "$R" prune
expect_grep 'wait for the grace period' "$OUT" "a second prune says the packs are waiting"

expect_exit 0 cairn --repo "$R" --json prune --no-other-writers
check "--no-other-writers deletes the marked packs" test "$(json "$OUT" 'j["deleted_packs"] > 0')" = true
check "the repository shrank by the forgotten data" test "$(repo_bytes)" -lt $((full - 5 * MiB))
expect_exit 0 cairn --repo "$R" scrub --read-data
expect_no_grep 'unindexed|orphan' "$OUT" "scrub after prune: clean, no orphans"
expect_exit 0 cairn --repo "$R" restore latest --target "$T/out"
check "the kept snapshot restores identical" cmp "$T/keep/a.bin" "$T/out/keep/a.bin"

# forget --prune with a policy: one command for the nightly job.
for i in 1 2 3; do
  head -c $((2 * MiB)) /dev/urandom >"$T/keep/a.bin"
  expect_exit 0 cairn --repo "$R" snapshot "$T/keep"
done
expect_exit 0 cairn --repo "$R" --json forget --keep-last 1 --prune --no-other-writers
check "forget --prune removes the snapshots and frees their data" \
  test "$(json "$OUT" 'j["removed"] == 3 and j["prune"]["deleted_packs"] > 0')" = true
check "one snapshot left" test "$(snapshot_count "$R")" -eq 1
expect_exit 0 cairn --repo "$R" restore latest --target "$T/out2"
check "the newest snapshot restores identical" cmp "$T/keep/a.bin" "$T/out2/keep/a.bin"

expect_exit 2 cairn --repo "$R" prune --max-unused 150
expect_exit 2 cairn --repo "$R" prune --grace nonsense
finish
