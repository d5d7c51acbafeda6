# Failures a user meets, each with its exit code (cli/exit_codes.h) and a message that says
# what is wrong: wrong password, no repository, unknown snapshot, damaged or missing packs
# and snapshot objects (no wrong data is ever written), and bad command lines.
source "$(dirname "$0")/lib.bash" "$@"

export CAIRN_PASSWORD=right
R=$T/repo
mkdir -p "$T/src"
head -c $((4 * MiB)) /dev/urandom >"$T/src/victim.bin"
echo "first small file" >"$T/src/a.txt"
echo "second small file" >"$T/src/b.txt"
expect_exit 0 cairn --repo "$R" init
expect_exit 14 cairn --repo "$R" restore latest --target "$T/none"
expect_grep 'no snapshots' "$ERR" "latest in an empty repository: the message says there are none"
expect_exit 0 cairn --repo "$R" --json snapshot "$T/src"
id=$(json "$OUT" 'j["snapshot"]')

# Wrong password: 12, and the message says so.
CAIRN_PASSWORD=wrong expect_exit 12 cairn --repo "$R" snapshots
expect_grep 'password' "$ERR" "wrong password: the message mentions the password"
CAIRN_PASSWORD=wrong expect_exit 12 cairn --repo "$R" --json restore latest --target "$T/wp"
check "wrong password: nothing restored" test ! -e "$T/wp"
check "wrong password --json: the error is a JSON line on stderr" \
  test "$(json "$ERR" 'j["code"]')" = "wrong password"

# No repository: 10 for an empty folder, a missing one, and a file.
mkdir "$T/empty"
expect_exit 10 cairn --repo "$T/empty" snapshots
expect_grep 'no repository' "$ERR" "empty folder: the message says there is no repository"
expect_exit 10 cairn --repo "$T/missing" restore latest --target "$T/x"
expect_exit 10 cairn --repo "$T/src/a.txt" ls latest
expect_exit 10 cairn --repo "$T/empty" snapshot "$T/src"
check "no repository: snapshot created nothing" test -z "$(ls -A "$T/empty")"

# Unknown snapshot: 14.
unknown=$("$PYTHON" -c 'import sys; print(("1" if sys.argv[1][0] == "0" else "0") * 12)' "$id")
expect_exit 14 cairn --repo "$R" restore "$unknown" --target "$T/unknown"
expect_grep "no snapshot $unknown" "$ERR" "unknown snapshot: the message names it"
expect_exit 14 cairn --repo "$R" ls "$unknown"
expect_exit 14 cairn --repo "$R" ls latest no/such/path

# Bad command lines: 2.
expect_exit 2 cairn
expect_exit 2 cairn --repo "$R" no-such-command
expect_exit 2 cairn --repo "$R" snapshots --no-such-flag
expect_exit 2 cairn --repo "$R" restore latest
expect_grep 'target|stdout' "$ERR" "restore without a destination: the message names --target and --stdout"
expect_exit 2 cairn --repo "$R" restore latest --target "$T/both" --stdout
expect_exit 2 cairn --repo "$R" restore latest src/a.txt --target "$T/both"
expect_exit 2 cairn --repo "$R" restore
expect_exit 2 cairn --repo "$R" ls
expect_exit 2 cairn --repo "$R" snapshot
expect_exit 2 cairn --repo "$R" index
expect_exit 2 cairn --repo "$T/new1" init --compression-level 99
expect_exit 2 cairn --repo "$T/new2" init --avg-chunk-kib 3
expect_grep 'power of two' "$ERR" "a bad chunk size: the message says why"
check "bad init options created nothing" test ! -e "$T/new1/config" -a ! -e "$T/new2/config"
expect_exit 0 cairn --help
expect_grep 'snapshot' "$OUT" "--help lists the commands"

# ---------------------------------------------------------------- a damaged pack
# The biggest pack holds victim.bin.
pack=$(biggest_pack "$R")
pack_id=$(basename "$pack")
check "the biggest pack holds victim.bin (> 4 MiB)" test "$(stat -c %s "$pack")" -gt $((4 * MiB))
cp "$pack" "$T/pack.orig"
flip_byte "$pack" middle
expect_exit 13 cairn --repo "$R" restore latest --target "$T/out"
expect_grep 'victim\.bin' "$ERR" "damaged pack: the damaged file is named"
expect_grep "pack $pack_id" "$ERR" "damaged pack: the pack is named"
expect_grep 'blob [0-9a-f]{64}' "$ERR" "damaged pack: the blob is named"
expect_grep 'NOT restored' "$ERR" "damaged pack: the summary says entries were not restored"
check "damaged pack: victim.bin does NOT exist in the target" test ! -e "$T/out/src/victim.bin"
check "damaged pack: no temporary file is left behind" \
  test -z "$(find "$T/out" -name '.cairn-tmp*' -print -quit)"
check "damaged pack: the undamaged files are restored" \
  bash -c 'cmp "$0/src/a.txt" "$1/src/a.txt" && cmp "$0/src/b.txt" "$1/src/b.txt"' "$T" "$T/out"
expect_exit 13 cairn --repo "$R" --json restore latest --target "$T/out-json"
check "damaged pack --json: damaged=1, files=2" \
  test "$(head -n 1 "$OUT" | "$PYTHON" -c 'import json,sys; j=json.load(sys.stdin); print([j["damaged"], j["files"]])')" = '[1, 2]'
expect_grep '"problem"' "$ERR" "damaged pack --json: the problem is a JSON line"
expect_exit 13 cairn --repo "$R" restore latest --stdout src/victim.bin
expect_grep "pack $pack_id" "$ERR" "restore --stdout of the damaged file: the pack is named"
check "restore --stdout of the damaged file: fewer bytes than the file (never wrong bytes)" \
  test "$(stat -c %s "$OUT")" -lt $((4 * MiB))
check "restore --stdout of the damaged file: what was written is a correct prefix" \
  cmp -n "$(stat -c %s "$OUT")" "$OUT" "$T/src/victim.bin"
expect_exit 0 cairn --repo "$R" restore latest --stdout src/a.txt
check "restore --stdout of an undamaged file still works" cmp "$T/src/a.txt" "$OUT"
expect_exit 0 cairn --repo "$R" ls latest
# A restore over the earlier target does not replace anything with damaged data.
echo "older copy" >"$T/out/src/victim.bin"
expect_exit 13 cairn --repo "$R" restore latest --target "$T/out"
check "an existing file is left as it was when its new content is damaged" \
  test "$(cat "$T/out/src/victim.bin")" = "older copy"
cp "$T/pack.orig" "$pack"
expect_exit 0 cairn --repo "$R" restore latest --target "$T/out-fixed"
check "the pack put back: everything restores" diff -r "$T/src" "$T/out-fixed/src"

# A damaged pack trailer: restore still fails safe.
flip_byte "$pack" "$(($(stat -c %s "$pack") - 20))"
run cairn --repo "$R" restore latest --target "$T/out-trailer"
check "damaged trailer: restore exits 0 or 13 (exit $RC)" test "$RC" -eq 0 -o "$RC" -eq 13
if [[ -e $T/out-trailer/src/victim.bin ]]; then
  check "damaged trailer: what is restored is correct" cmp "$T/src/victim.bin" "$T/out-trailer/src/victim.bin"
else
  pass "damaged trailer: victim.bin not restored"
fi
cp "$T/pack.orig" "$pack"

# A missing pack: 13, and the pack is named.
mv "$pack" "$T/pack.moved"
expect_exit 13 cairn --repo "$R" restore latest --target "$T/out-missing"
expect_grep "$pack_id" "$ERR" "missing pack: the pack is named"
check "missing pack: victim.bin does not exist in the target" test ! -e "$T/out-missing/src/victim.bin"
mv "$T/pack.moved" "$pack"

# The same damage in an unencrypted repository is caught by the blob ids.
expect_exit 0 cairn --repo "$T/plain" init --no-encryption
expect_exit 0 cairn --repo "$T/plain" snapshot "$T/src"
pack=$(biggest_pack "$T/plain")
flip_byte "$pack" middle
expect_exit 13 cairn --repo "$T/plain" restore latest --target "$T/out-plain"
check "unencrypted, damaged: victim.bin does not exist in the target" test ! -e "$T/out-plain/src/victim.bin"
expect_exit 13 cairn --repo "$T/plain" restore latest --stdout src/victim.bin

# ---------------------------------------------------------------- a damaged snapshot object
snapfile=$R/snapshots/$id
cp "$snapfile" "$T/snap.orig"
flip_byte "$snapfile" 40
run cairn --repo "$R" snapshots
expect_grep "${id}.*(skipped|damaged|match|authentic)" "$ERR" "damaged snapshot: a warning names it"
run cairn --repo "$R" restore "$id" --target "$T/out-snap"
check "damaged snapshot: restore by its id fails (exit $RC)" test "$RC" -ne 0
check "damaged snapshot: nothing restored" test ! -e "$T/out-snap/src"
# A damaged snapshot object is damage (13), not "not found" (14).
check "damaged snapshot: restore by its id exits 13 (damage), not 14 (not found)" \
  bash -c '"$0" --repo "$1" restore "$2" --target "$3"; test $? -eq 13' "$CAIRN" "$R" "$id" "$T/out-snap2"
cp "$T/snap.orig" "$snapfile"
expect_exit 0 cairn --repo "$R" restore "$id" --stdout src/a.txt

finish
