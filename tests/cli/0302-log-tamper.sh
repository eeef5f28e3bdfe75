#!/bin/sh
# Tamper evidence (issue 3, point 5): change, delete, reorder or insert one entry directly in
# the SQLite file, or roll the log back, and 'log verify --from' the last checkpoint the
# vendor saw fails and says why; the facility refuses to sign over a damaged log.
. tests/cli/lib.sh
if ! command -v sqlite3 >/dev/null; then echo "sqlite3 CLI missing: tamper tests skipped"; done_testing; exit; fi
B="$T/base"
"$SR" init -C "$B" --name test.example >/dev/null || exit 1
for i in $(seq 0 19); do
	"$SR" log -C "$B" append "{\"type\":\"record\",\"actor\":\"r$((i % 3))\",\"path\":\"f$i.c\"}" >/dev/null
done
"$SR" log -C "$B" checkpoint >"$T/seen" && "$SR" log -C "$B" vkey >"$T/vkey" || exit 1
expect_ok "untouched log verifies" "$SR" log -C "$B" verify --vkey "$T/vkey" --from "$T/seen"

# fresh NAME: a copy of the base facility to damage
fresh() { rm -rf "$T/$1"; cp -r "$B" "$T/$1"; D="$T/$1"; }
sql() { sqlite3 "$D/sealroom.db" "DROP TRIGGER IF EXISTS log_entries_append_only; DROP TRIGGER IF EXISTS log_entries_no_delete;
	DROP TRIGGER IF EXISTS log_hashes_no_delete; $1"; }

fresh change
check "triggers refuse an update" sh -c "! sqlite3 '$D/sealroom.db' \"UPDATE log_entries SET data = 'x' WHERE idx = 5\" 2>/dev/null"
sql "UPDATE log_entries SET data = replace(data, 'f5.c', 'f6.c') WHERE idx = 5"
expect_fail "changed entry" 1 "entry 5 does not match" "$SR" log -C "$D" verify --vkey "$T/vkey" --from "$T/seen"

fresh noncanon
sql "UPDATE log_entries SET data = replace(data, ',', ', ') WHERE idx = 9"
expect_fail "entry made non-canonical" 1 "entry 9 is not a valid log entry" "$SR" log -C "$D" verify --vkey "$T/vkey"

fresh delete
sql "DELETE FROM log_entries WHERE idx = 7"
expect_fail "deleted entry" 1 "entry 7 is missing" "$SR" log -C "$D" verify --vkey "$T/vkey" --from "$T/seen"

fresh truncate
sql "DELETE FROM log_entries WHERE idx >= 15"
expect_fail "deleted tail" 1 "holds 15 entries but its checkpoint of size 20" "$SR" log -C "$D" verify --vkey "$T/vkey" --from "$T/seen"

fresh reorder
sql "UPDATE log_entries SET idx = -1 WHERE idx = 2; UPDATE log_entries SET idx = 2 WHERE idx = 11; UPDATE log_entries SET idx = 11 WHERE idx = -1"
expect_fail "reordered entries" 1 "entry 2 does not match" "$SR" log -C "$D" verify --vkey "$T/vkey" --from "$T/seen"

fresh insert
sql "UPDATE log_entries SET idx = idx + 1000 WHERE idx >= 4; UPDATE log_entries SET idx = idx - 999 WHERE idx >= 1000;
	INSERT INTO log_entries (idx, data) VALUES (4, '{\"actor\":\"r0\",\"path\":\"planted.c\",\"time\":1,\"type\":\"record\"}')"
expect_fail "inserted entry" 1 "entry 4 does not match" "$SR" log -C "$D" verify --vkey "$T/vkey" --from "$T/seen"

fresh hashes
sql "DELETE FROM log_hashes WHERE id = (SELECT MAX(id) FROM log_hashes)"
expect_fail "signing refuses a damaged hash table" 1 "stored hashes; the database was altered" "$SR" log -C "$D" checkpoint

fresh forged
sqlite3 "$D/sealroom.db" "INSERT INTO log_checkpoints (size, note, signed_at) VALUES (25, 'test.example
25
47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=

— test.example AAAAAAAA
', 0)"
expect_fail "forged checkpoint row" 1 "checkpoint of size 25" "$SR" log -C "$D" verify --vkey "$T/vkey"

# roll back: the vendor saw a later checkpoint, then the operator restores an old copy
fresh rollback
sqlite3 "$B/sealroom.db" ".backup '$T/old.db'"
for i in 1 2 3; do "$SR" log -C "$D" append '{"type":"record","actor":"r1","pages":2}' >/dev/null; done
"$SR" log -C "$D" checkpoint >"$T/seen23"
expect_ok "grown log verifies against the newer checkpoint" "$SR" log -C "$D" verify --vkey "$T/vkey" --from "$T/seen23"
rm -f "$D/sealroom.db-wal" "$D/sealroom.db-shm"; cp "$T/old.db" "$D/sealroom.db"
expect_fail "rolled-back log" 1 "rolled back: the checkpoint you saw .--from. has 23 entries" "$SR" log -C "$D" verify --vkey "$T/vkey" --from "$T/seen23"

# entries rolled back under a kept checkpoint: signing refuses
fresh tailcut
sqlite3 "$D/sealroom.db" "DROP TRIGGER log_entries_no_delete; DROP TRIGGER log_hashes_no_delete;
	DELETE FROM log_entries WHERE idx >= 18; DELETE FROM log_hashes WHERE id >= (SELECT COUNT(*) FROM log_hashes) - 4"
expect_fail "signing refuses a log shorter than its checkpoint" 1 "refusing to sign|database was altered" "$SR" log -C "$D" checkpoint

# a history rewritten and re-signed with the facility key is still caught by --from
fresh rewrite
sqlite3 "$D/sealroom.db" "DROP TRIGGER log_entries_no_delete; DROP TRIGGER log_hashes_no_delete; DROP TRIGGER log_checkpoints_no_delete;
	DELETE FROM log_entries; DELETE FROM log_hashes; DELETE FROM log_checkpoints"
for i in $(seq 0 21); do
	"$SR" log -C "$D" append "{\"type\":\"record\",\"actor\":\"r0\",\"path\":\"other$i.c\"}" >/dev/null
done
"$SR" log -C "$D" checkpoint >/dev/null
expect_fail "re-signed rewritten history" 1 "history was rewritten: its first 20 entries" "$SR" log -C "$D" verify --vkey "$T/vkey" --from "$T/seen"
done_testing
