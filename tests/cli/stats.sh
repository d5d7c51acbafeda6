# Stats: sizes before and after dedup and compression; per snapshot, the bytes only it holds.
source "$(dirname "$0")/lib.bash" "$@"

export CAIRN_PASSWORD=stats
R=$T/repo
expect_exit 0 cairn --repo "$R" init
mkdir -p "$T/src"
head -c $((4 * MiB)) /dev/urandom >"$T/src/random.bin"
{ yes "the same line again and again" || true; } | head -c $((4 * MiB)) >"$T/src/text.txt"
expect_exit 0 cairn --repo "$R" snapshot "$T/src"
head -c $((1 * MiB)) /dev/urandom >"$T/src/new.bin"
expect_exit 0 cairn --repo "$R" --json snapshot "$T/src"
second=$(json "$OUT" 'j["snapshot"]')

expect_exit 0 cairn --repo "$R" --json stats
check "two snapshots, 17 MiB of content in all" test "$(json "$OUT" '[len(j["snapshots"]), j["raw_bytes"]]')" = "[2, $((17 * MiB))]"
check "dedup: the unchanged 8 MiB are stored once" test "$(json "$OUT" 'j["unique_raw_bytes"] == 9 * 1024 * 1024')" = true
check "dedup ratio near 17/9" test "$(json "$OUT" 'abs(j["dedup_ratio"] - 17 / 9) < 0.01')" = true
check "compression: the text compresses" test "$(json "$OUT" 'j["stored_bytes"] < 6 * 1024 * 1024')" = true
check "only the second snapshot holds new.bin (and its trees)" \
  test "$(json "$OUT" '0 <= j["snapshots"][1]["unique_raw_bytes"] - 1024 * 1024 < 64 * 1024')" = true

expect_exit 0 cairn --repo "$R" --json stats "${second:0:8}"
check "stats SNAPSHOT gives that snapshot" test "$(json "$OUT" 'j["id"]')" = "$second"
expect_exit 0 cairn --repo "$R" stats
expect_grep 'after dedup' "$OUT" "text output: the dedup line"
expect_exit 14 cairn --repo "$R" stats ffffffff
finish
