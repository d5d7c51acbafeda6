# cairn init: encrypted and unencrypted repositories, refusals, and every way to give the
# password and the repository location.
source "$(dirname "$0")/lib.bash" "$@"

mkdir -p "$T/src"
echo "hello" >"$T/src/a.txt"

# An encrypted repository: created in a new folder, with the layout of docs/FORMAT.md.
export CAIRN_PASSWORD=correct-horse
expect_exit 0 cairn --repo "$T/enc" init
expect_grep 'encrypted repository' "$OUT" "init says it created an encrypted repository"
check "config and one key written" test -f "$T/enc/config" -a "$(ls "$T/enc/keys" | wc -l)" -eq 1
for d in data index snapshots; do check "folder $d exists" test -d "$T/enc/$d"; done
expect_exit 0 cairn --repo "$T/enc" --json snapshot "$T/src"
check "the password is not stored in the clear" \
  bash -c '! grep -rqa correct-horse "$0"' "$T/enc"
check "file contents are not stored in the clear" \
  bash -c '! grep -rqa hello "$0/data"' "$T/enc"
expect_exit 0 cairn init --help
# --json output of init.
expect_exit 0 cairn --repo "$T/enc2" --json init
check "init --json: encrypted=true" test "$(json "$OUT" 'j["encrypted"]')" = true

# Refusals: an existing repository and a non-empty folder; nothing is changed.
before=$(find "$T/enc" | sort | md5sum)
expect_exit 1 cairn --repo "$T/enc" init
expect_grep 'exists|not empty' "$ERR" "init on a repository: the message says why"
check "init on a repository changed nothing" test "$(find "$T/enc" | sort | md5sum)" = "$before"
mkdir "$T/full"
echo keep >"$T/full/precious.txt"
expect_exit 1 cairn --repo "$T/full" init
expect_grep 'not empty' "$ERR" "init in a non-empty folder: the message says it is not empty"
check "init in a non-empty folder left it alone" \
  test "$(ls -A "$T/full")" = precious.txt -a "$(cat "$T/full/precious.txt")" = keep
# An empty folder that exists is fine.
mkdir "$T/empty"
expect_exit 0 cairn --repo "$T/empty" init
# A folder whose parent is missing is refused.
run cairn --repo "$T/no/such/parent" init
check "init under a missing parent fails" test "$RC" -ne 0
expect_grep 'parent|exist' "$ERR" "init under a missing parent: the message says why"
unset CAIRN_PASSWORD

# --no-encryption: no password anywhere.
expect_exit 0 cairn --repo "$T/plain" init --no-encryption
expect_grep 'UNENCRYPTED' "$OUT" "init --no-encryption says so loudly"
expect_exit 0 cairn --repo "$T/plain" --json snapshot "$T/src"
expect_exit 0 cairn --repo "$T/plain" restore latest --stdout src/a.txt
check "unencrypted repository restores without a password" test "$(cat "$OUT")" = hello

# No password and no terminal: a clear error, exit 2, and no repository left behind.
if command -v setsid >/dev/null; then
  nottty=(setsid -w)
else
  nottty=()
fi
expect_exit 2 "${nottty[@]}" "$CAIRN" --repo "$T/nopw" init </dev/null
expect_grep 'CAIRN_PASSWORD' "$ERR" "missing password: the message names CAIRN_PASSWORD"
check "missing password: nothing created" test ! -e "$T/nopw"
expect_exit 2 "${nottty[@]}" "$CAIRN" --repo "$T/enc" snapshots </dev/null
expect_grep 'password' "$ERR" "opening without a password: the message mentions the password"
# An empty password is refused.
CAIRN_PASSWORD= expect_exit 2 cairn --repo "$T/emptypw" init
check "empty password: nothing created" test ! -e "$T/emptypw/config"

# CAIRN_PASSWORD_FILE (a trailing newline is not part of the password).
printf 'from-a-file\n' >"$T/pwfile"
CAIRN_PASSWORD_FILE=$T/pwfile expect_exit 0 cairn --repo "$T/byfile" init
CAIRN_PASSWORD_FILE=$T/pwfile expect_exit 0 cairn --repo "$T/byfile" snapshot "$T/src"
CAIRN_PASSWORD=from-a-file expect_exit 0 cairn --repo "$T/byfile" snapshots
CAIRN_PASSWORD=from-a-file$'\n' expect_exit 12 cairn --repo "$T/byfile" snapshots
CAIRN_PASSWORD_FILE=$T/missing expect_exit 14 cairn --repo "$T/byfile" snapshots
expect_grep 'CAIRN_PASSWORD_FILE' "$ERR" "unreadable password file: the message names it"

# CAIRN_PASSWORD_COMMAND.
CAIRN_PASSWORD_COMMAND='echo from-a-command' expect_exit 0 cairn --repo "$T/bycmd" init
CAIRN_PASSWORD=from-a-command expect_exit 0 cairn --repo "$T/bycmd" snapshot "$T/src"
CAIRN_PASSWORD_COMMAND='printf from-a-command' expect_exit 0 cairn --repo "$T/bycmd" snapshots
CAIRN_PASSWORD_COMMAND='echo wrong' expect_exit 12 cairn --repo "$T/bycmd" snapshots
run env CAIRN_PASSWORD_COMMAND='echo from-a-command; exit 3' "$CAIRN" --repo "$T/bycmd" snapshots
check "a failing password command is an error (exit $RC)" test "$RC" -ne 0 -a "$RC" -ne 12
expect_grep 'CAIRN_PASSWORD_COMMAND' "$ERR" "failing password command: the message names it"
# CAIRN_PASSWORD wins over the other two.
CAIRN_PASSWORD=from-a-command CAIRN_PASSWORD_COMMAND='echo wrong' CAIRN_PASSWORD_FILE=$T/pwfile \
  expect_exit 0 cairn --repo "$T/bycmd" snapshots

# CAIRN_REPO instead of --repo, and --repo wins over it.
export CAIRN_PASSWORD=env-repo
CAIRN_REPO=$T/byenv expect_exit 0 cairn init
check "CAIRN_REPO: repository created there" test -f "$T/byenv/config"
CAIRN_REPO=$T/byenv expect_exit 0 cairn snapshot "$T/src"
CAIRN_REPO=$T/byenv expect_exit 0 cairn --json snapshots
check "CAIRN_REPO: one snapshot listed" test "$(json "$OUT" 'len(j)')" = 1
CAIRN_REPO=$T/nowhere expect_exit 0 cairn --repo "$T/byenv" --json snapshots
check "--repo wins over CAIRN_REPO" test "$(json "$OUT" 'len(j)')" = 1
expect_exit 2 cairn snapshots
expect_grep 'CAIRN_REPO' "$ERR" "no repository given: the message names --repo and CAIRN_REPO"

# The global options after the command, as DESIGN-BRIEF.md writes them (`cairn init --repo R`).
check "cairn init --repo R (global option after the command)" \
  "$CAIRN" init --repo "$T/after"
check "cairn snapshots --repo R --json (global options after the command)" \
  "$CAIRN" snapshots --repo "$T/byenv" --json

finish
