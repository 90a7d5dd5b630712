//! The domain layer: the operations every API family (token API, DuckDNS `/update`, dyndns2,
//! LuaDNS-style API) and the admin commands share, each written once and run inside a store
//! write (`WriteTx`) or read. A rule about hostnames, zones or records lives here or in
//! `model`, never in an API module.
//!
//! May import: `model`, `store`, `dns` (its `ApexConfig`), `dnssec`, `error`, `secret`, `clock`.

pub mod accounts;
pub mod api_keys;
pub mod dns_update;
pub mod dnssec;
pub mod hostnames;
pub mod records;
pub mod scoped_tokens;
pub mod users;
pub mod zones;
