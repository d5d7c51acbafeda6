# Repair: a damaged pack found by scrub is taken out of the index (its intact blobs kept), the
# damaged snapshot is named and marked; the next backup of the same data heals it; prune then
# deletes the quarantined pack. Also: --dry-run changes nothing, a missing pack, and
# prune --no-other-writers removing killed writers' unfinished uploads.
source "$(dirname "$0")/lib.bash" "$@"

export CAIRN_PASSWORD=repair
R=$T/repo
expect_exit 0 cairn --repo "$R" init
mkdir -p "$T/src"
head -c $((6 * MiB)) /dev/urandom >"$T/src/victim.bin"
echo "small and intact" >"$T/src/a.txt"
expect_exit 0 cairn --repo "$R" --json snapshot "$T/src"
first=$(json "$OUT" 'j["snapshot"]')

expect_exit 0 cairn --repo "$R" repair
expect_grep 'every snapshot is whole' "$OUT" "a clean repository: repair says so, exit 0"

pack=$(biggest_pack "$R")
pack_id=$(basename "$pack")
flip_byte "$pack" middle
expect_exit 13 cairn --repo "$R" scrub --read-data

before=$(find "$R" -type f | sort | xargs sha256sum | sha256sum)
expect_exit 13 cairn --repo "$R" --json repair --dry-run
check "dry run: one damaged pack, one blob would be lost" \
  test "$(json "$OUT" '[j["packs_damaged"], j["blobs_lost"], j["record"]]')" = '[1, 1, ""]'
after=$(find "$R" -type f | sort | xargs sha256sum | sha256sum)
check "dry run changes no file of the repository" test "$before" = "$after"

expect_exit 13 cairn --repo "$R" --json repair
check "repair takes the damaged pack out and salvages the rest" \
  test "$(json "$OUT" 'j["packs_damaged"] == 1 and j["blobs_lost"] == 1 and j["blobs_salvaged"] > 0')" = true
check "repair names the damaged snapshot and file" \
  test "$(json "$OUT" '[d["id"] for d in j["damaged_snapshots"]] == ["'"$first"'"] and any("victim.bin" in f for f in j["damaged_snapshots"][0]["files"])')" = true
check "the damaged pack is quarantined, not deleted" test -e "$pack"
expect_exit 0 cairn --repo "$R" --json snapshots
check "snapshots --json marks the snapshot damaged" test "$(json "$OUT" '[s["damaged"] for s in j]')" = '[true]'
expect_exit 0 cairn --repo "$R" snapshots
expect_grep 'DAMAGED' "$OUT" "snapshots marks it in text too"
expect_exit 13 cairn --repo "$R" scrub --read-data
expect_grep 'quarantined' "$OUT" "scrub: the quarantined pack is a notice"
expect_no_grep "pack $pack_id.*(authentication|does not match)" "$OUT" "scrub: the damaged pack is no longer read"
expect_grep 'victim\.bin' "$OUT" "scrub: still names the file the snapshot lost"
expect_exit 13 cairn --repo "$R" restore "$first" --target "$T/out1"
check "restore of the damaged snapshot restores the intact file" cmp "$T/src/a.txt" "$T/out1/src/a.txt"

# The same data backed up again stores the lost blob again: the old snapshot is whole.
expect_exit 0 cairn --repo "$R" snapshot "$T/src"
expect_exit 0 cairn --repo "$R" --json repair
check "repair after the next backup: healed, nothing damaged" \
  test "$(json "$OUT" '[j["healed_snapshots"], len(j["damaged_snapshots"]), j["clean"]]')" = '[1, 0, true]'
expect_exit 0 cairn --repo "$R" --json snapshots
check "the mark is gone" test "$(json "$OUT" '[s["damaged"] for s in j]')" = '[false, false]'
expect_exit 0 cairn --repo "$R" restore "$first" --target "$T/out2"
check "the healed snapshot restores identical" cmp "$T/src/victim.bin" "$T/out2/src/victim.bin"

# Prune deletes the quarantined pack (never brings its damaged blob back) and killed writers'
# unfinished uploads.
head -c 12345 /dev/urandom >"$R/tmp/0123abcd.tmp"
expect_exit 0 cairn --repo "$R" --json prune --no-other-writers
check "prune --no-other-writers removes unfinished uploads" test ! -e "$R/tmp/0123abcd.tmp"
check "... and reports their bytes" test "$(json "$OUT" 'j["unfinished_put_bytes"]')" -eq 12345
check "prune deleted the quarantined pack" test ! -e "$pack"
expect_exit 0 cairn --repo "$R" scrub --read-data
expect_no_grep 'quarantined|unindexed|damaged' "$OUT" "scrub after prune: clean"

# A missing pack: structure alone finds it; repair takes it out and names what is lost.
pack=$(biggest_pack "$R")
rm "$pack"
expect_exit 13 cairn --repo "$R" --json repair
check "missing pack: counted, blobs lost, both snapshots damaged" \
  test "$(json "$OUT" 'j["packs_missing"] == 1 and j["blobs_lost"] > 0 and len(j["damaged_snapshots"]) == 2')" = true
expect_exit 13 cairn --repo "$R" repair
expect_grep 'snapshot [0-9a-f]{8} is damaged: .* files cannot be restored whole' "$OUT" "a second repair: nothing more to take out, the damaged snapshots named again"
expect_exit 13 cairn --repo "$R" scrub
expect_no_grep 'missing from the repository' "$OUT" "scrub after repair: no index entry points at the missing pack"
finish
