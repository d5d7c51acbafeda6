# diff between two snapshots: markers, --json, and exit 17 when they differ, 0 when not.
source "$(dirname "$0")/lib.bash" "$@"

export CAIRN_PASSWORD=diff
R=$T/repo
expect_exit 0 cairn --repo "$R" init
mkdir -p "$T/src/app/old"
echo one >"$T/src/app/a.txt"
echo old >"$T/src/app/old/x"
expect_exit 0 cairn --repo "$R" --json snapshot "$T/src/app"
first=$(json "$OUT" 'j["snapshot"]')
echo two >"$T/src/app/a.txt"
rm -r "$T/src/app/old"
echo new >"$T/src/app/b.txt"
expect_exit 0 cairn --repo "$R" --json snapshot "$T/src/app"
second=$(json "$OUT" 'j["snapshot"]')

expect_exit 17 cairn --repo "$R" diff "${first:0:8}" latest
expect_grep '^M  app/a.txt$' "$OUT" "diff: modified file marked M"
expect_grep '^-  app/old/x$' "$OUT" "diff: removed file marked -"
expect_grep '^\+  app/b.txt$' "$OUT" "diff: added file marked +"
expect_exit 17 cairn --repo "$R" --json diff "$first" "$second"
check "diff --json: counts" test "$(json "$OUT" '[j["added"], j["removed"], j["modified"]]')" = "[1, 2, 1]"
expect_exit 0 cairn --repo "$R" diff latest latest
expect_grep '^0 added, 0 removed, 0 modified' "$OUT" "diff of a snapshot with itself: nothing"
expect_exit 14 cairn --repo "$R" diff "$first" ffffffff

finish
