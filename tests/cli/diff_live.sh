# diff of a snapshot with live files: exit 0 when identical, 17 when not; content compared by
# default, size and mtime trusted with --quick; --json; which second arguments are live paths.
source "$(dirname "$0")/lib.bash" "$@"

export CAIRN_PASSWORD=live
R=$T/repo
S=$T/src/app
expect_exit 0 cairn --repo "$R" init
mkdir -p "$S/conf" "$S/data" "$S/old"
echo one >"$S/conf/a.conf"
echo gone >"$S/old/x"
head -c 300000 /dev/urandom >"$S/data/blob"
ln -s conf/a.conf "$S/link"
expect_exit 0 cairn --repo "$R" snapshot "$S"

# Identical: the backed-up path, the folder inside the snapshot, and --quick all agree.
expect_exit 0 cairn --repo "$R" diff latest "$S"
expect_grep '^0 added, 0 removed, 0 modified, 0 metadata only, 0 changed type; 3 files read' "$OUT" \
  "identical tree: nothing listed, every file read"
expect_exit 0 cairn --repo "$R" diff latest:app "$S"
expect_exit 0 cairn --repo "$R" diff --quick latest "$S"
expect_grep '; 0 files read' "$OUT" "--quick reads no unchanged file"

# A restore target holds the snapshot's root entries: compare with the whole snapshot.
expect_exit 0 cairn --repo "$R" restore latest --target "$T/restored"
expect_exit 0 cairn --repo "$R" diff latest "$T/restored"

# Same size and mtime, other bytes: --quick trusts them, the content check does not.
head -c 300000 /dev/urandom >"$T/other"
touch -r "$S/data/blob" "$T/other"
cat "$T/other" >"$S/data/blob"
touch -r "$T/other" "$S/data/blob"
expect_exit 0 cairn --repo "$R" diff --quick latest "$S"
expect_exit 17 cairn --repo "$R" diff latest "$S"
expect_grep '^M  app/data/blob$' "$OUT" "content check finds the same-size same-mtime change"

# Every kind of change, with the markers of the snapshot-to-snapshot diff.
echo two >>"$S/conf/a.conf"
echo new >"$S/new.txt"
rm -r "$S/old"
rm "$S/link"
mkdir "$S/link"
chmod 0600 "$S/conf"
expect_exit 17 cairn --repo "$R" diff latest "$S"
expect_grep '^M  app/conf/a.conf$' "$OUT" "modified file marked M"
expect_grep '^\+  app/new.txt$' "$OUT" "added file marked +"
expect_grep '^-  app/old/x$' "$OUT" "removed file marked -"
expect_grep '^T  app/link$' "$OUT" "symlink become a folder marked T"
expect_grep '^m  app/conf$' "$OUT" "mode change marked m"
expect_exit 17 cairn --repo "$R" --json diff latest "$S"
check "--json: counts" test "$(json "$OUT" '[j["added"], j["removed"], j["modified"], j["metadata"], j["type"]]')" = "[1, 2, 2, 2, 1]"
check "--json: changes listed" test "$(json "$OUT" 'sorted(c["path"] for c in j["changes"] if c["change"] == "modified")')" = '["app/conf/a.conf", "app/data/blob"]'
check "--json: not quick, nothing unreadable" test "$(json "$OUT" '[j["quick"], j["unreadable"]]')" = "[false, 0]"

# Which arguments are live paths: '/' before any ':', or . and ..; a bare word that is also a
# path here is refused with a way out.
cd "$T/src"
expect_exit 17 cairn --repo "$R" diff latest ./app
expect_exit 2 cairn --repo "$R" diff latest app
expect_grep "write ./app" "$ERR" "a bare name that exists here is called ambiguous"
cd app
expect_exit 17 cairn --repo "$R" diff latest:app .
cd "$T"
expect_exit 14 cairn --repo "$R" diff latest "$T/missing"
expect_exit 2 cairn --repo "$R" diff --quick latest latest
expect_exit 0 cairn --repo "$R" diff latest latest

finish
