# Deduplication as a user sees it: the repository grows only by what is new, for the same
# file again, the same content under another name, and a stream with a small edit or insertion.
source "$(dirname "$0")/lib.bash" "$@"

export CAIRN_PASSWORD=dedup
R=$T/repo
expect_exit 0 cairn --repo "$R" init
mkdir "$T/src"
head -c $((30 * MiB)) /dev/urandom >"$T/src/random.bin"

# The same 30 MiB file twice.
s0=$(repo_bytes "$R")
expect_exit 0 cairn --repo "$R" --json snapshot "$T/src"
s1=$(repo_bytes "$R")
# bytes_added counts new tree blobs (directory listings) too: allow them a little room.
META=$((64 * 1024))
check "first snapshot: bytes_added = 30 MiB + listings" test "$(json "$OUT" "30 * $MiB <= j['bytes_added'] < 30 * $MiB + $META")" = true
check "first snapshot: the repository grew by about 30 MiB ($((s1 - s0)) bytes)" \
  test $((s1 - s0)) -ge $((30 * MiB)) -a $((s1 - s0)) -lt $((31 * MiB))
expect_exit 0 cairn --repo "$R" --json snapshot "$T/src"
s2=$(repo_bytes "$R")
check "same file again: bytes_added = 0" test "$(json "$OUT" 'j["bytes_added"]')" -eq 0
check "same file again: the repository grew by < 1 MiB ($((s2 - s1)) bytes)" test $((s2 - s1)) -lt $MiB

# The same content under another name and in another folder (read again, deduplicated by content).
mkdir "$T/other"
cp "$T/src/random.bin" "$T/other/copy.bin"
expect_exit 0 cairn --repo "$R" --json snapshot "$T/other"
s3=$(repo_bytes "$R")
check "a copy elsewhere: bytes read = 30 MiB, only listings added" \
  test "$(json "$OUT" "j['bytes'] == 30 * $MiB and j['bytes_added'] < $META")" = true
check "a copy elsewhere: the repository grew by < 1 MiB ($((s3 - s2)) bytes)" test $((s3 - s2)) -lt $MiB
# The same content as a stream.
expect_exit 0 cairn --repo "$R" --json snapshot --stdin --stdin-name random.bin <"$T/src/random.bin"
s4=$(repo_bytes "$R")
check "the same bytes as a stream: only its listing added" test "$(json "$OUT" "j['bytes_added'] < $META and j['blobs_added'] == 1")" = true
check "the same bytes as a stream: the repository grew by < 1 MiB ($((s4 - s3)) bytes)" \
  test $((s4 - s3)) -lt $MiB
expect_exit 0 cairn --repo "$R" restore latest --stdout
check "the deduplicated stream restores byte-identical" cmp "$T/src/random.bin" "$OUT"

# A 20 MiB stream, then the same with 100 bytes changed in the middle, then with 100 bytes
# inserted in the middle (content-defined chunking: only the chunks around the edit are new).
head -c $((20 * MiB)) /dev/urandom >"$T/stream"
"$PYTHON" - "$T/stream" "$T/edited" "$T/inserted" <<'EOF'
import os, sys
data = open(sys.argv[1], "rb").read()
mid = len(data) // 2
edited = data[:mid] + bytes(b ^ 0xFF for b in data[mid:mid + 100]) + data[mid + 100:]
open(sys.argv[2], "wb").write(edited)
open(sys.argv[3], "wb").write(data[:mid] + os.urandom(100) + data[mid:])
EOF
expect_exit 0 cairn --repo "$R" --json snapshot --stdin --stdin-name stream.bin <"$T/stream"
s5=$(repo_bytes "$R")
check "a new 20 MiB stream: bytes_added = 20 MiB + listing" test "$(json "$OUT" "20 * $MiB <= j['bytes_added'] < 20 * $MiB + $META")" = true
expect_exit 0 cairn --repo "$R" --json snapshot --stdin --stdin-name stream.bin <"$T/edited"
s6=$(repo_bytes "$R")
added=$(json "$OUT" 'j["bytes_added"]')
check "100 bytes changed: bytes_added < 3 MiB ($added)" test "$added" -lt $((3 * MiB)) -a "$added" -gt 0
check "100 bytes changed: the repository grew by < 3 MiB ($((s6 - s5)) bytes)" \
  test $((s6 - s5)) -lt $((3 * MiB))
expect_exit 0 cairn --repo "$R" --json snapshot --stdin --stdin-name stream.bin <"$T/inserted"
s7=$(repo_bytes "$R")
check "100 bytes inserted: the repository grew by < 3 MiB ($((s7 - s6)) bytes)" \
  test $((s7 - s6)) -lt $((3 * MiB))
expect_exit 0 cairn --repo "$R" restore latest --stdout
check "the stream with an insertion restores byte-identical" cmp "$T/inserted" "$OUT"
expect_exit 0 cairn --repo "$R" --json snapshots
check "snapshots --json: the edited stream shows its small bytes_added" \
  test "$(json "$OUT" 'j[-2]["bytes_added"]')" = "$added"
prev=$(json "$OUT" 'j[-3]["id"]')
expect_exit 0 cairn --repo "$R" restore "$prev" --stdout
check "the original stream still restores" cmp "$T/stream" "$OUT"

# Compressible data is stored compressed (zstd), and a repeat of it adds nothing.
"$PYTHON" -c '
import sys
lines = ("%08d the quick brown fox jumps over the lazy dog\n" % i for i in range(200000))
sys.stdout.write("".join(lines))' >"$T/text.log"
size=$(stat -c %s "$T/text.log")
expect_exit 0 cairn --repo "$R" --json snapshot --stdin --stdin-name text.log <"$T/text.log"
check "text compresses: bytes_stored < bytes_added / 4 ($(json "$OUT" '[j["bytes_added"], j["bytes_stored"]]'))" \
  test "$(json "$OUT" "j['bytes_stored'] * 4 < j['bytes_added'] and $size <= j['bytes_added'] < $size + $META")" = true
expect_exit 0 cairn --repo "$R" --json snapshot --stdin --stdin-name text.log <"$T/text.log"
check "the same text again: only its listing added" test "$(json "$OUT" "j['bytes_added'] < $META")" = true

finish
