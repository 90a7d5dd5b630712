//! One function per statement: `(&Connection, args) -> model type`, one file per table. Every
//! parameter is bound; nothing is formatted into SQL. Column lists are macros so that each
//! statement is one compile-time literal (`concat!`): the statement cache is then looked up
//! without building the SQL string on every call.

pub mod accounts;
pub mod api_keys;
pub mod hostnames;
pub mod journal;
pub mod records;
pub mod scoped_tokens;
pub mod update_keys;
pub mod users;
pub mod zone_keys;
pub mod zones;

use rusqlite::{Connection, Row};

/// One row from a cached prepared statement (statements are reused, not re-parsed).
pub(crate) fn one<T, P: rusqlite::Params>(
    c: &Connection,
    sql: &str,
    p: P,
    f: impl FnOnce(&Row) -> rusqlite::Result<T>,
) -> rusqlite::Result<T> {
    c.prepare_cached(sql)?.query_row(p, f)
}

/// Run one statement through the connection's statement cache; rows changed.
pub(crate) fn exec<P: rusqlite::Params>(
    c: &Connection,
    sql: &str,
    p: P,
) -> rusqlite::Result<usize> {
    c.prepare_cached(sql)?.execute(p)
}

/// All rows of a cached statement.
pub(crate) fn all<T, P: rusqlite::Params>(
    c: &Connection,
    sql: &str,
    p: P,
    f: impl FnMut(&Row) -> rusqlite::Result<T>,
) -> rusqlite::Result<Vec<T>> {
    let mut st = c.prepare_cached(sql)?;
    let rows = st.query_map(p, f)?;
    rows.collect()
}

/// A stored text column that must parse (written by us in canonical form); a row that does
/// not is reported as a conversion failure, not a panic.
pub(crate) fn parsed<T: std::str::FromStr>(r: &Row, i: usize) -> rusqlite::Result<T>
where
    T::Err: std::error::Error + Send + Sync + 'static,
{
    let s: String = r.get(i)?;
    s.parse::<T>().map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, Box::new(e))
    })
}

/// A nullable stored text column that must parse when present.
pub(crate) fn parsed_opt<T: std::str::FromStr>(r: &Row, i: usize) -> rusqlite::Result<Option<T>>
where
    T::Err: std::error::Error + Send + Sync + 'static,
{
    let s: Option<String> = r.get(i)?;
    s.map(|s| {
        s.parse::<T>().map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, Box::new(e))
        })
    })
    .transpose()
}

#[cfg(test)]
pub(crate) mod testdb {
    //! A migrated in-memory database for the query tests.
    use rusqlite::Connection;

    pub fn db() -> Connection {
        let mut c = Connection::open_in_memory().unwrap();
        c.pragma_update(None, "foreign_keys", true).unwrap();
        crate::store::schema::migrate(&mut c).unwrap();
        c
    }
}
