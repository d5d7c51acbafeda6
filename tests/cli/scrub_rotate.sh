# Rotating scrub as cron runs it: three nightly `scrub --budget` runs cover every pack, each
# continuing where the previous stopped; --status and --json report it; damage exits 13 and
# is reported again by the next run; bad options exit 2.
source "$(dirname "$0")/lib.bash" "$@"

export CAIRN_PASSWORD=rotate
R=$T/repo
expect_exit 0 cairn --repo "$R" init --pack-mib 1 --avg-chunk-kib 64
mkdir -p "$T/src"
head -c $((6 * MiB)) /dev/urandom >"$T/src/big.bin"
echo hello >"$T/src/small.txt"
expect_exit 0 cairn --repo "$R" snapshot "$T/src"
packs=$(find "$R/data" -type f | wc -l)
total=$(find "$R/data" -type f -printf '%s\n' | awk '{s += $1} END {print s}')
largest=$(find "$R/data" -type f -printf '%s\n' | sort -n | tail -1)
check "setup: several packs ($packs)" test "$packs" -ge 6

expect_exit 0 cairn --repo "$R" scrub --status
expect_grep "^never verified: +$packs packs" "$OUT" "status before any scrub: everything never verified"

# A run stops before the first pack that does not fit, so it reads more than budget - largest
# pack: a third of the bytes plus the largest pack covers everything in three nights.
budget=$(((total + 2) / 3 + largest))
for night in 1 2 3; do
  expect_exit 0 cairn --repo "$R" --json scrub --budget "$budget"
  check "night $night: read within the budget" test "$(json "$OUT" 'j["bytes_read"] <= '"$budget"' or j["packs_read"] == 1')" = true
  check "night $night: recorded in the scrub state" test "$(json "$OUT" 'len(j["state_object"])')" = 64
done
expect_exit 0 cairn --repo "$R" --json scrub --status --every 7d
check "after three nights no pack is left unverified" test "$(json "$OUT" 'j["never"]["packs"]')" = 0
check "status --json: all verified within a day" test "$(json "$OUT" 'j["within_1d"]["bytes"] == j["total"]["bytes"] == '"$total")" = true
check "status --json: the promise is kept" test "$(json "$OUT" 'j["every"]["met"]')" = true
check "status --json: daily budget is a seventh plus a pack" test "$(json "$OUT" 'j["every"]["daily_budget_bytes"] == min('"$total"', ('"$total"' + 6) // 7 + '"$largest"')')" = true
check "status --json: one line per pack" test "$(json "$OUT" 'len(j["packs"])')" = "$packs"
check "one scrub state object remains" test "$(find "$R/scrub" -type f | wc -l)" = 1
expect_exit 0 cairn --repo "$R" scrub --status --every 7d
expect_grep "^every byte verified within 7d: yes" "$OUT" "status text: promise kept"
expect_grep "^to keep it, once a day: +cairn scrub --budget [0-9]+MiB" "$OUT" "status text: suggests a budget"

# The fourth night wraps round to the packs verified first.
expect_exit 0 cairn --repo "$R" --json scrub --budget 1
check "a tiny budget still reads one pack" test "$(json "$OUT" 'j["packs_read"]')" = 1

# Damage: a flipped byte in the largest pack is found (exit 13, file named), and the next
# night reads that pack again first and still reports it.
victim=$(find "$R/data" -type f -printf '%s %p\n' | sort -n | tail -1 | cut -d' ' -f2)
cp "$victim" "$T/victim.good"
"$PYTHON" - "$victim" <<'EOF'
import sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
b[len(b) // 2] ^= 1
open(p, "wb").write(bytes(b))
EOF
expect_exit 13 cairn --repo "$R" scrub --budget "$total"
expect_grep "DAMAGE +pack $(basename "$victim")" "$OUT" "damaged pack named"
expect_grep "big.bin" "$OUT" "affected file named"
expect_exit 13 cairn --repo "$R" scrub --budget 1
expect_grep "DAMAGE +pack $(basename "$victim")" "$OUT" "next run re-reads the damaged pack first"
expect_exit 13 cairn --repo "$R" scrub --status
expect_grep "^damaged at last check: +1 packs" "$OUT" "status shows the damaged pack (exit 13)"
# Repaired from a good copy: the next run reads it first, finds it clean, and the status clears.
cp "$T/victim.good" "$victim"
expect_exit 0 cairn --repo "$R" scrub --budget 1
expect_exit 0 cairn --repo "$R" scrub --status
expect_grep "^damaged at last check: +0 packs" "$OUT" "status clears once the pack is repaired"

# The state cannot be written (here scrub/ is a file): the checks still run and report; a
# rotating scrub exits 1 (it could not record its progress), a full data check 0.
rm -rf "$R/scrub"
touch "$R/scrub"
expect_exit 1 cairn --repo "$R" scrub --budget 1
expect_grep "could not record" "$ERR" "unwritable state: the problem is named"
expect_grep "no damage found" "$OUT" "unwritable state: the findings are still reported"
expect_exit 0 cairn --repo "$R" --json scrub --read-data
check "unwritable state, --json: state_problem set" test "$(json "$OUT" 'len(j["state_problem"]) > 0')" = true
rm -f "$R/scrub"

# Could not run / bad usage.
expect_exit 2 cairn --repo "$R" scrub --budget 5x
expect_exit 2 cairn --repo "$R" scrub --budget 1G --read-data
expect_exit 2 cairn --repo "$R" scrub --status --read-data-subset 1/7
expect_exit 2 cairn --repo "$R" scrub --every 7d
expect_exit 10 cairn --repo "$T/nothing" scrub --budget 1G

finish
