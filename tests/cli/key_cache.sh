# `cairn key unlock` / `key lock`: the master key cached in the kernel keyring. A wrong password
# caches nothing; a cached key opens the repository without a password; --no-key-cache and
# `key lock` bring the password back; an entry that is not the repository's key is passed over.
source "$(dirname "$0")/lib.bash" "$@"

R=$T/repo
CAIRN_PASSWORD=keys expect_exit 0 cairn --repo "$R" init
head -c $((2 * MiB)) /dev/urandom >"$T/data.bin"
CAIRN_PASSWORD=keys expect_exit 0 cairn --repo "$R" --json snapshot "$T/data.bin"
ID=$(json "$R/config" 'j["id"]')
cleanup_key() { "$CAIRN" --repo "$R" key lock >/dev/null 2>&1 || true; }
trap 'rc=$?; cleanup_key; (exit $rc); on_exit' EXIT

# Where keyctl is forbidden (a container's seccomp profile), unlock must say so and fail cleanly.
if ! "$PYTHON" - <<'EOF'
import ctypes, sys
libc = ctypes.CDLL(None, use_errno=True)
sys.exit(0 if libc.syscall(250, 11, -4, 0) >= 0 or ctypes.get_errno() not in (1, 38) else 1)  # keyctl(READ, user keyring)
EOF
then
  CAIRN_PASSWORD=keys expect_exit 1 cairn --repo "$R" key unlock
  expect_grep "keyring is not available" "$ERR" "unlock explains that the keyring cannot be used"
  skip "the kernel keyring is not available on this machine"
  finish
fi

# ------------------------------------------------------------------ nothing cached yet
expect_exit 2 cairn --repo "$R" snapshots </dev/null
expect_grep "no password" "$ERR" "without a cached key a command asks for the password"

# ------------------------------------------------------------------ wrong password, bad lifetime
CAIRN_PASSWORD=nope expect_exit 12 cairn --repo "$R" key unlock
expect_exit 2 cairn --repo "$R" snapshots </dev/null
expect_grep "no password" "$ERR" "a wrong password caches nothing"
CAIRN_PASSWORD=keys expect_exit 2 cairn --repo "$R" key unlock --for 5m
expect_grep "15min" "$ERR" "a bare m (minutes or months?) is refused with the accepted forms"

# ------------------------------------------------------------------ unlocked
CAIRN_PASSWORD=keys expect_exit 0 cairn --repo "$R" --json key unlock --for 120s
check "unlock reports the lifetime" test "$(json "$OUT" 'j["lifetime_s"]')" = 120
expect_exit 0 cairn --repo "$R" --json snapshots </dev/null
check "a cached key opens the repository without a password" \
  test "$(json "$OUT" 'len(j)')" = 1
expect_exit 0 cairn --repo "$R" --json snapshot "$T/data.bin" </dev/null
expect_exit 0 cairn --repo "$R" restore latest --target "$T/out" </dev/null
check "data written and read with the cached key is intact" cmp "$T/data.bin" "$T/out/data.bin"
expect_exit 2 cairn --repo "$R" --no-key-cache snapshots </dev/null
expect_grep "no password" "$ERR" "--no-key-cache asks for the password all the same"
CAIRN_PASSWORD=nope expect_exit 12 cairn --repo "$R" --no-key-cache snapshots
CAIRN_PASSWORD=nope expect_exit 0 cairn --repo "$R" snapshots
pass "with a cached key the password is not consulted"

# ------------------------------------------------------------------ locked again
expect_exit 0 cairn --repo "$R" key lock
expect_grep "removed" "$OUT" "lock says it removed the key"
expect_exit 0 cairn --repo "$R" key lock
expect_grep "no key was cached" "$OUT" "a second lock finds nothing"
expect_exit 2 cairn --repo "$R" snapshots </dev/null
expect_grep "no password" "$ERR" "after lock the password is needed again"

# ------------------------------------------------------------------ an entry that is not the key
# 96 random bytes under the repository's name (what a stale entry of a recreated repository
# would look like): the config's MAC refuses it and the password is used instead.
"$PYTHON" - "cairn:$ID" <<'EOF'
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
payload = os.urandom(96)
k = libc.syscall(248, b"user", sys.argv[1].encode(), payload, 96, -4)  # add_key to the user keyring
assert k > 0, os.strerror(ctypes.get_errno())
assert libc.syscall(250, 15, k, 60) == 0  # KEYCTL_SET_TIMEOUT
EOF
expect_exit 2 cairn --repo "$R" snapshots </dev/null
expect_grep "no password" "$ERR" "a foreign cached key is not used"
CAIRN_PASSWORD=keys expect_exit 0 cairn --repo "$R" --json snapshots
check "with the password the repository opens past the foreign entry" test "$(json "$OUT" 'len(j)')" = 2

# ------------------------------------------------------------------ lifetime
CAIRN_PASSWORD=keys expect_exit 0 cairn --repo "$R" key unlock --for 1s
sleep 2.2
expect_exit 2 cairn --repo "$R" snapshots </dev/null
expect_grep "no password" "$ERR" "the cached key expires after its lifetime"

finish
