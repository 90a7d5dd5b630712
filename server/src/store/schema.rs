//! Schema migrations, keyed by `PRAGMA user_version`. On open, every missing step runs in one
//! transaction and the version is set; a newer file than this binary knows is refused.
//! Append steps; never edit a released one.

use rusqlite::Connection;

use super::StoreError;
use crate::model::record::alias_free_target;
use crate::model::RType;

/// One migration: SQL, or code for a step SQL cannot express (a backfill computed in Rust).
enum Step {
    Sql(&'static str),
    Code(fn(&Connection) -> rusqlite::Result<()>),
}

/// Step N (1-based) brings the file from version N-1 to N.
const MIGRATIONS: &[Step] = &[
    Step::Sql(
        // 1: users, secrets, zones, hostnames, hosted-zone records.
        r#"
    CREATE TABLE users (
        id              INTEGER PRIMARY KEY,
        email           TEXT NOT NULL UNIQUE COLLATE NOCASE,
        status          TEXT NOT NULL DEFAULT 'active'
                        CHECK (status IN ('active', 'disabled', 'banned')),
        max_hostnames   INTEGER NOT NULL DEFAULT 10 CHECK (max_hostnames >= 0),
        api_enabled     INTEGER NOT NULL DEFAULT 1,
        -- 0: every shared zone is allowed; 1: only those in user_zones.
        zones_restricted INTEGER NOT NULL DEFAULT 0,
        -- SHA-256 of the update token; the token itself is never stored.
        token_hash      BLOB UNIQUE,
        created_at      TEXT NOT NULL
    );
    CREATE TABLE zones (
        id              INTEGER PRIMARY KEY,
        name            TEXT NOT NULL UNIQUE,
        kind            TEXT NOT NULL CHECK (kind IN ('shared', 'hosted')),
        owner_id        INTEGER REFERENCES users(id) ON DELETE CASCADE,
        serial          INTEGER NOT NULL,
        queries_count   INTEGER NOT NULL DEFAULT 0,
        created_at      TEXT NOT NULL,
        updated_at      TEXT NOT NULL
    );
    CREATE INDEX zones_owner ON zones(owner_id);
    CREATE TABLE user_zones (
        user_id         INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        zone_id         INTEGER NOT NULL REFERENCES zones(id) ON DELETE CASCADE,
        PRIMARY KEY (user_id, zone_id)
    ) WITHOUT ROWID;
    CREATE TABLE api_keys (
        id              INTEGER PRIMARY KEY,
        user_id         INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        key_hash        BLOB NOT NULL UNIQUE,
        -- NULL: global key; else the one zone it may touch.
        zone_id         INTEGER REFERENCES zones(id) ON DELETE CASCADE,
        created_at      TEXT NOT NULL
    );
    CREATE INDEX api_keys_user ON api_keys(user_id);
    CREATE TABLE hostnames (
        id              TEXT PRIMARY KEY,
        zone_id         INTEGER NOT NULL REFERENCES zones(id) ON DELETE CASCADE,
        -- '' is the zone apex (operator-managed only).
        label           TEXT NOT NULL,
        -- NULL: operator-managed.
        user_id         INTEGER REFERENCES users(id) ON DELETE CASCADE,
        ipv4            TEXT,
        ipv6            TEXT,
        txt             TEXT,
        ttl             INTEGER NOT NULL,
        note            TEXT,
        created_at      TEXT NOT NULL,
        updated_at      TEXT NOT NULL,
        UNIQUE (zone_id, label)
    );
    CREATE INDEX hostnames_user ON hostnames(user_id);
    CREATE TABLE records (
        id              INTEGER PRIMARY KEY,
        zone_id         INTEGER NOT NULL REFERENCES zones(id) ON DELETE CASCADE,
        name            TEXT NOT NULL,
        type            TEXT NOT NULL,
        content         TEXT NOT NULL,
        ttl             INTEGER NOT NULL,
        external_id     TEXT,
        created_at      TEXT NOT NULL,
        updated_at      TEXT NOT NULL
    );
    CREATE INDEX records_zone ON records(zone_id, name, type);
    "#,
    ),
    // 2: updates name a hostname by its bare label (`/update?domains=home`): look it up by
    // (user, label) instead of scanning every hostname of the user.
    Step::Sql(
        r#"
    CREATE INDEX hostnames_user_label ON hostnames(user_id, label);
    "#,
    ),
    // 3: ids are never reused (scripts keep a zone or record id; after a delete it must not
    // name something else): `id_seq` remembers the highest id each table ever gave, and
    // inserts take the next one (`queries::*::insert_*`). MX, NS and SRV records keep their
    // target name in `target`, indexed, so "is anything pointing at this name" (the CNAME
    // rule of RFC 2181 §10.3) is one index lookup instead of a scan of the zone.
    Step::Sql(
        r#"
    CREATE TABLE id_seq (
        name            TEXT PRIMARY KEY,
        last            INTEGER NOT NULL
    ) WITHOUT ROWID;
    INSERT INTO id_seq (name, last) SELECT 'zones', COALESCE(MAX(id), 0) FROM zones;
    INSERT INTO id_seq (name, last) SELECT 'records', COALESCE(MAX(id), 0) FROM records;
    CREATE TRIGGER zones_id_seq AFTER INSERT ON zones BEGIN
        UPDATE id_seq SET last = MAX(last, NEW.id) WHERE name = 'zones';
    END;
    CREATE TRIGGER records_id_seq AFTER INSERT ON records BEGIN
        UPDATE id_seq SET last = MAX(last, NEW.id) WHERE name = 'records';
    END;
    ALTER TABLE records ADD COLUMN target TEXT;
    CREATE INDEX records_target ON records(zone_id, target) WHERE target IS NOT NULL;
    "#,
    ),
    Step::Code(backfill_targets),
    // 5: a banned account's names leave DNS at once and come back when it is reactivated; a
    // hostname deleted by another process (an admin command) leaves it too. Both change what
    // a zone serves, so they bump its serial, which is also how the running server notices
    // (`Store::sync_external` reloads zones whose serial moved).
    Step::Sql(
        r#"
    CREATE TRIGGER users_banned AFTER UPDATE OF status ON users
    WHEN (OLD.status = 'banned') != (NEW.status = 'banned')
    BEGIN
        UPDATE zones SET serial = (serial + 1) % 4294967296
        WHERE owner_id = NEW.id OR id IN (SELECT zone_id FROM hostnames WHERE user_id = NEW.id);
    END;
    CREATE TRIGGER hostnames_deleted AFTER DELETE ON hostnames
    BEGIN
        UPDATE zones SET serial = (serial + 1) % 4294967296 WHERE id = OLD.zone_id;
    END;
    "#,
    ),
    // 6: IPv6 prefix updates: a hostname's interface identifier (`ipv6Suffix`), so one push of
    // a router's delegated prefix re-addresses every device behind it.
    Step::Sql(
        r#"
    ALTER TABLE hostnames ADD COLUMN ipv6_suffix TEXT;
    "#,
    ),
    // 7: accounts for the dashboard: a password (Argon2id PHC string), a role, server-side
    // sessions (only the SHA-256 of the cookie's id is stored) and one-time invite links.
    Step::Sql(
        r#"
    ALTER TABLE users ADD COLUMN password_hash TEXT;
    ALTER TABLE users ADD COLUMN role TEXT NOT NULL DEFAULT 'user'
        CHECK (role IN ('user', 'admin'));
    CREATE TABLE sessions (
        id_hash         BLOB PRIMARY KEY,
        user_id         INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        created_at      INTEGER NOT NULL,
        last_seen       INTEGER NOT NULL,
        address         TEXT NOT NULL,
        user_agent      TEXT NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX sessions_user ON sessions(user_id);
    CREATE TABLE invites (
        token_hash      BLOB PRIMARY KEY,
        user_id         INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        expires_at      INTEGER NOT NULL,
        used            INTEGER NOT NULL DEFAULT 0
    ) WITHOUT ROWID;
    CREATE INDEX invites_user ON invites(user_id);
    "#,
    ),
    // 8: scoped tokens: a named token that reaches only chosen hostnames (one per router, say).
    // The hostnames are kept by id, so a name deleted and claimed again is not in scope.
    Step::Sql(
        r#"
    CREATE TABLE scoped_tokens (
        id              INTEGER PRIMARY KEY,
        user_id         INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        token_hash      BLOB NOT NULL UNIQUE,
        label           TEXT NOT NULL,
        created_at      INTEGER NOT NULL,
        last_used       INTEGER,
        UNIQUE (user_id, label)
    );
    CREATE TABLE scoped_token_hostnames (
        token_id        INTEGER NOT NULL REFERENCES scoped_tokens(id) ON DELETE CASCADE,
        hostname_id     TEXT NOT NULL REFERENCES hostnames(id) ON DELETE CASCADE,
        PRIMARY KEY (token_id, hostname_id)
    ) WITHOUT ROWID;
    CREATE INDEX scoped_token_hostnames_host ON scoped_token_hostnames(hostname_id);
    "#,
    ),
    // 9: two-factor sign-in (TOTP, RFC 6238): the secret (base32) once confirmed, the one being
    // set up, the last time step used (a code works once), and single-use recovery codes
    // (SHA-256 only).
    Step::Sql(
        r#"
    ALTER TABLE users ADD COLUMN totp_secret TEXT;
    ALTER TABLE users ADD COLUMN totp_pending TEXT;
    ALTER TABLE users ADD COLUMN totp_last_step INTEGER NOT NULL DEFAULT 0;
    CREATE TABLE recovery_codes (
        user_id         INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        code_hash       BLOB NOT NULL,
        used            INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (user_id, code_hash)
    ) WITHOUT ROWID;
    "#,
    ),
    // 10: what the dashboard shows beyond the current values. `hostnames.updated_from`: the
    // client address of the last change. `address_changes`: a hostname's A/AAAA changes per
    // hour (`hour` = Unix time / 3600): how many, when the last was and what it set. Each
    // change is one upsert in the update's own transaction (a primary-key seek, no scan); a
    // new hour's row drops that hostname's rows older than 30 days (its trigger, a range of
    // the same key), so a hostname has at most 721 rows however often it changes.
    // `zone_queries_daily`: DNS
    // queries per zone and UTC day (`day` = Unix time / 86400), added at each flush beside
    // the `zones.queries_count` total and pruned past 60 days. `api_keys.label`: a name the
    // owner gives a key.
    Step::Sql(
        r#"
    ALTER TABLE hostnames ADD COLUMN updated_from TEXT;
    CREATE TABLE address_changes (
        hostname_id     TEXT NOT NULL REFERENCES hostnames(id) ON DELETE CASCADE,
        hour            INTEGER NOT NULL,
        changes         INTEGER NOT NULL,
        at              INTEGER NOT NULL,
        ipv4            TEXT,
        ipv6            TEXT,
        PRIMARY KEY (hostname_id, hour)
    ) WITHOUT ROWID;
    CREATE TRIGGER address_changes_bounded AFTER INSERT ON address_changes BEGIN
        DELETE FROM address_changes
        WHERE hostname_id = NEW.hostname_id AND hour < NEW.hour - 720;
    END;
    CREATE TABLE zone_queries_daily (
        zone_id         INTEGER NOT NULL REFERENCES zones(id) ON DELETE CASCADE,
        day             INTEGER NOT NULL,
        count           INTEGER NOT NULL,
        PRIMARY KEY (zone_id, day)
    ) WITHOUT ROWID;
    ALTER TABLE api_keys ADD COLUMN label TEXT NOT NULL DEFAULT '';
    "#,
    ),
    // 11: DNSSEC (issue #15). `zones.dnssec`: NULL for zones older than this step (the first
    // start signs them when `[dnssec] enabled`), 0 unsigned, 1 signed, 2 signed with the
    // RFC 8078 delete CDS/CDNSKEY published (switching off). `rrsigs`: signatures kept across
    // restarts. One row per key: its PKCS#8
    // private key (a signing key cannot be hashed; it never leaves the file), state `active`
    // (signs), `incoming` (published in a rollover, signs the DNSKEY RRset, its DS wanted at
    // the parent) or `retiring` (still published until `retire_at`, unix seconds).
    Step::Sql(
        r#"
    ALTER TABLE zones ADD COLUMN dnssec INTEGER;
    CREATE TABLE zone_keys (
        id              INTEGER PRIMARY KEY,
        zone_id         INTEGER NOT NULL REFERENCES zones(id) ON DELETE CASCADE,
        algorithm       INTEGER NOT NULL,
        private_key     BLOB NOT NULL,
        state           TEXT NOT NULL CHECK (state IN ('active', 'incoming', 'retiring')),
        retire_at       INTEGER,
        created_at      TEXT NOT NULL,
        updated_at      TEXT NOT NULL
    );
    CREATE INDEX zone_keys_zone ON zone_keys(zone_id);
    -- Signatures as served, so a restart does not sign the whole zone again: per node key
    -- (reversed relative labels, as dns/zone.rs keys nodes) and type, a digest of the RRset
    -- they cover and the RRSIG RDATAs (length-prefixed). A cache: a missing or stale row
    -- only means signing again.
    CREATE TABLE rrsigs (
        zone_id         INTEGER NOT NULL REFERENCES zones(id) ON DELETE CASCADE,
        owner_key       BLOB NOT NULL,
        rtype           INTEGER NOT NULL,
        digest          INTEGER NOT NULL,
        sigs            BLOB NOT NULL,
        PRIMARY KEY (zone_id, owner_key, rtype)
    ) WITHOUT ROWID;
    "#,
    ),
    // Step 12: the change journal for IXFR (RFC 1995). One row per published group per zone,
    // written in the group's own transaction: the RRsets it changed, before and after, as
    // dns/xfr/journal.rs encodes them, leading from `serial_from` to `serial_to`. Pruned by
    // age and count (store/journal.rs); a secondary older than the journal gets a full
    // transfer.
    Step::Sql(
        r#"
    CREATE TABLE journal (
        seq             INTEGER PRIMARY KEY,
        zone_id         INTEGER NOT NULL REFERENCES zones(id) ON DELETE CASCADE,
        serial_from     INTEGER NOT NULL,
        serial_to       INTEGER NOT NULL,
        created_at      INTEGER NOT NULL,
        changes         BLOB NOT NULL
    );
    CREATE INDEX journal_zone ON journal(zone_id, serial_from);
    "#,
    ),
    // Step 13: TSIG keys for DNS UPDATE (RFC 2136), one row per key, owned by a user and
    // limited to one hosted zone (`zone_id`) or to chosen names (`names`, comma-separated
    // fqdns). The secret is kept as is: HMAC needs it (RFC 8945 §6), so it cannot be hashed
    // the way tokens are; like the DNSSEC private keys it never leaves the file.
    Step::Sql(
        r#"
    CREATE TABLE update_keys (
        id              INTEGER PRIMARY KEY,
        user_id         INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        name            TEXT NOT NULL UNIQUE,
        algorithm       TEXT NOT NULL,
        secret          BLOB NOT NULL,
        zone_id         INTEGER REFERENCES zones(id) ON DELETE CASCADE,
        names           TEXT,
        created_at      TEXT NOT NULL,
        last_used_at    TEXT
    );
    CREATE INDEX update_keys_user ON update_keys(user_id);
    "#,
    ),
    // Step 14: what the server last served from its config, so that a change to the apex
    // settings (name servers, SOA fields) bumps every zone's serial at the next start and
    // secondaries transfer the new SOA and NS (RFC 1034 §4.3.5).
    Step::Sql(
        r#"
    CREATE TABLE settings (
        key             TEXT PRIMARY KEY,
        value           TEXT NOT NULL
    ) WITHOUT ROWID;
    "#,
    ),
];

/// Step 4: fill `records.target` for the MX, NS and SRV records written before step 3.
fn backfill_targets(c: &Connection) -> rusqlite::Result<()> {
    let rows: Vec<(i64, String, String)> = {
        let mut st =
            c.prepare("SELECT id, type, content FROM records WHERE type IN ('MX', 'NS', 'SRV')")?;
        let r = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        r.collect::<rusqlite::Result<_>>()?
    };
    for (id, ty, content) in rows {
        let target = ty
            .parse::<RType>()
            .ok()
            .and_then(|t| alias_free_target(t, &content).map(str::to_string));
        c.execute(
            "UPDATE records SET target = ?2 WHERE id = ?1",
            rusqlite::params![id, target],
        )?;
    }
    Ok(())
}

pub const LATEST: i64 = MIGRATIONS.len() as i64;

pub fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if version > LATEST {
        return Err(StoreError::Schema {
            found: version,
            known: LATEST,
        });
    }
    if version == LATEST {
        return Ok(());
    }
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    // Re-read inside the write lock: another process may have migrated meanwhile.
    let version: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    for (i, step) in MIGRATIONS.iter().enumerate().skip(version as usize) {
        match step {
            Step::Sql(sql) => tx.execute_batch(sql)?,
            Step::Code(f) => f(&tx)?,
        }
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
    }
    tx.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fresh_and_older_files_reach_the_latest_version() {
        let mut fresh = Connection::open_in_memory().unwrap();
        migrate(&mut fresh).unwrap();
        let v: i64 = fresh
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v, LATEST);

        // A file as version 1 left it, with data: steps 2.. run, the data stays.
        let mut old = Connection::open_in_memory().unwrap();
        let Step::Sql(first) = MIGRATIONS[0] else {
            panic!("step 1 is SQL")
        };
        old.execute_batch(first).unwrap();
        old.pragma_update(None, "user_version", 1).unwrap();
        old.execute(
            "INSERT INTO users (email, created_at) VALUES ('a@example.org', 'now')",
            [],
        )
        .unwrap();
        migrate(&mut old).unwrap();
        let v: i64 = old
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v, LATEST);
        let idx: i64 = old
            .query_row(
                "SELECT COUNT(*) FROM sqlite_master WHERE name = 'hostnames_user_label'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(idx, 1);
        let users: i64 = old
            .query_row("SELECT COUNT(*) FROM users", [], |r| r.get(0))
            .unwrap();
        assert_eq!(users, 1);

        // A newer file is refused.
        old.pragma_update(None, "user_version", LATEST + 1).unwrap();
        assert!(matches!(migrate(&mut old), Err(StoreError::Schema { .. })));
    }
}
