//! Tests of the DNS view, lookup and wire path.
