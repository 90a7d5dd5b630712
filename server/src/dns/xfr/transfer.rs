//! AXFR (RFC 5936) and IXFR (RFC 1995) over TCP. The tcp.rs connection loop hands over any
//! query of type AXFR or IXFR; the answer is built here message by message from one snapshot of
//! the zone, each message written (and taken by the peer) before the next one is built, so a
//! 100k-name zone is never one message nor one buffer, and a slow secondary slows only its own
//! transfer. Every message carries the question (RFC 5936 §2.2.1 allows it) and is signed with
//! the request's key (RFC 8945 §5.3.1).
//!
//! Who may transfer: a request signed with a key that a `[[dns.secondaries]]` entry following
//! the zone names. Unsigned requests are REFUSED; a bad key, MAC or time gets NOTAUTH with the
//! TSIG error (RFC 8945 §5.2); a good key not listed for the zone is REFUSED, signed.
//!
//! IXFR: a secondary at the current serial (or ahead of it) gets the SOA alone (RFC 1995 §2).
//! When the journal reaches back to its serial it gets one condensed difference: each RRset
//! touched since, as the journal says it was then (with its RRSIGs), against the snapshot; for
//! a signed zone also the SOA's RRSIGs and the NSEC3 records of the kept chain (chain.rs) that
//! changed. Otherwise (journal too short, a chain not kept since then, NSEC zones) the whole
//! zone in AXFR form, which RFC 1995 §4 allows.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hickory_proto::op::Message;
use hickory_proto::rr::RData;
use hickory_proto::serialize::binary::{BinEncodable, BinEncoder};
use tokio::io::AsyncWrite;

use super::super::signing::owner_wire;
use super::super::tcp::write_message;
use super::super::tsig::{self, TsigStream};
use super::super::zone::{Found, RdataIter, Zone, ZoneData};
use super::super::DnsView;
use super::chain::{nsec_chain, LiveChain};
use super::journal;
use super::lock;
use super::signed::{error_answer, question_end, rejection};

const TYPE_SOA: u16 = 6;
const TYPE_RRSIG: u16 = 46;
const TYPE_IXFR: u16 = 251;
const TYPE_AXFR: u16 = 252;
/// A message is sent once it holds this much (a record never splits; a larger single record
/// goes alone). Small enough to keep memory flat, large enough that headers, the repeated
/// question and the TSIG stay a small share.
const TARGET: usize = 16 * 1024;

/// The question of a transfer request: its type, and where its question section ends.
pub(crate) fn transfer_type(query: &[u8]) -> Option<u16> {
    // A query (QR=0, opcode 0) with one question.
    if query.len() < 12 || query[2] & 0xF8 != 0 || query[4..6] != [0, 1] {
        return None;
    }
    let end = question_end(query)?;
    let t = u16::from_be_bytes([query[end - 4], query[end - 3]]);
    matches!(t, TYPE_AXFR | TYPE_IXFR).then_some(t)
}

/// Answer one AXFR or IXFR request on `stream`. Errors are the connection's (the peer went
/// away or stopped reading); refusals are answers.
pub(crate) async fn answer<W: AsyncWrite + Unpin>(
    view: &DnsView,
    query: &[u8],
    peer: SocketAddr,
    stream: &mut W,
    timeout: Duration,
) -> io::Result<()> {
    let now = crate::clock::unix_now();
    let xfr = view.xfr.as_ref();
    let verified = tsig::verify_request(query, now, |name| xfr.and_then(|x| x.cfg.key(name)));
    let server = match verified {
        Ok(Some(s)) => s,
        Ok(None) => {
            log::info!("xfr: unsigned transfer request from {peer} refused");
            view.other.count(hickory_proto::op::ResponseCode::Refused);
            return write_message(stream, &error_answer(query, 5), timeout).await;
        }
        Err(reject) => {
            let what = format!("transfer request from {peer}");
            let out = rejection(query, &reject, now, &what);
            return write_message(stream, &out, timeout).await;
        }
    };
    let Ok(msg) = Message::from_vec(query) else {
        let mut out = error_answer(query, 1);
        let _ = server.sign_response(&mut out, now);
        return write_message(stream, &out, timeout).await;
    };
    let Some(q) = msg.queries.first() else {
        return Ok(());
    };
    let qname = q.name().to_lowercase().to_ascii();
    let zone_name = qname.trim_end_matches('.');
    let zone = view
        .zone(zone_name)
        .filter(|z| z.name.as_ref() == zone_name);
    let Some(zone) = zone else {
        // Not a zone we serve (or a name inside one): NOTAUTH (RFC 5936 §2.2.1).
        log::info!("xfr: {peer} asked for {qname}, which is not a zone served here");
        let mut out = error_answer(query, 9);
        let _ = server.sign_response(&mut out, now);
        return write_message(stream, &out, timeout).await;
    };
    let key = server.key().clone();
    if !xfr.is_some_and(|x| x.cfg.may_transfer(&key, &zone.name)) {
        log::warn!(
            "xfr: {peer} signed with key {} which no secondary of {} uses: refused",
            key.name(),
            zone.name
        );
        let mut out = error_answer(query, 5);
        let _ = server.sign_response(&mut out, now);
        return write_message(stream, &out, timeout).await;
    }
    let kind = transfer_type(query).unwrap_or(TYPE_AXFR);
    let client_serial = msg.authorities.iter().find_map(|r| match &r.data {
        RData::SOA(soa) => Some(soa.serial),
        _ => None,
    });
    let end = question_end(query).unwrap_or(query.len());
    let mut out = Sender {
        stream,
        timeout,
        tsig: server.into_stream(),
        header: query[..end].to_vec(),
        buf: Vec::new(),
        count: 0,
        messages: 0,
        records: 0,
        bytes: 0,
    };
    out.begin();
    let started = Instant::now();
    // Everything is decided (and the records a difference needs gathered) before the first
    // write: no lock is held across an await.
    let plan = match (kind, client_serial) {
        (TYPE_IXFR, Some(c)) => {
            let data = zone.data.load_full();
            if !older(c, data.serial) {
                Plan::UpToDate(data)
            } else {
                difference(view, &zone, c).unwrap_or_else(|| whole(view, &zone))
            }
        }
        _ => whole(view, &zone),
    };
    let data = match &plan {
        Plan::UpToDate(d) | Plan::Whole(d, _) | Plan::Difference { data: d, .. } => d.clone(),
    };
    let soa = soa_record(view, &zone, data.serial);
    let what = match plan {
        Plan::UpToDate(_) => {
            // Up to date (RFC 1995 §2): the current SOA alone.
            out.push(&soa).await?;
            "IXFR (up to date)"
        }
        Plan::Difference {
            from,
            deleted,
            added,
            ..
        } => {
            // One condensed difference (RFC 1995 §4): new SOA, old SOA, deletions, new SOA,
            // additions, new SOA.
            out.push(&soa).await?;
            out.push(&soa_record(view, &zone, from)).await?;
            for r in &deleted {
                out.push(r).await?;
            }
            out.push(&soa).await?;
            for r in &added {
                out.push(r).await?;
            }
            out.push(&soa).await?;
            if kind == TYPE_IXFR {
                "IXFR"
            } else {
                "AXFR"
            }
        }
        Plan::Whole(_, chain) => {
            whole_zone(&mut out, &zone, &data, &soa, &chain).await?;
            if kind == TYPE_IXFR {
                "IXFR (answered with the whole zone)"
            } else {
                "AXFR"
            }
        }
    };
    out.finish().await?;
    log::info!(
        "xfr: {what} of {} serial {} to {peer} (key {}): {} records in {} messages, {} bytes, {} ms",
        zone.name,
        data.serial,
        key.name(),
        out.records,
        out.messages,
        out.bytes,
        started.elapsed().as_millis()
    );
    Ok(())
}

/// RFC 1982: is serial `a` older than `b`?
fn older(a: u32, b: u32) -> bool {
    a != b && (b.wrapping_sub(a) as i32) > 0
}

/// What a transfer sends, decided from one snapshot.
enum Plan {
    UpToDate(Arc<ZoneData>),
    /// The whole zone, with a signed zone's denial chain (already signed).
    Whole(Arc<ZoneData>, Vec<Vec<u8>>),
    /// Condensed from serial `from` to the snapshot.
    Difference {
        data: Arc<ZoneData>,
        from: u32,
        deleted: Vec<Vec<u8>>,
        added: Vec<Vec<u8>>,
    },
}

/// The whole zone at the current snapshot, with the chain that goes with it. For a signed
/// zone the snapshot is taken with the kept chain (same serial), or the chain is built for it
/// and kept; builds are serialised so that transfers running together share one chain.
fn whole(view: &DnsView, zone: &Zone) -> Plan {
    let data = zone.data.load_full();
    let (Some(_), Some(x)) = (&data.sec, view.xfr.as_ref()) else {
        return Plan::Whole(data, Vec::new());
    };
    let apex = zone.apex.to_bytes().unwrap_or_default();
    let _one_build = x.building.lock().unwrap_or_else(|e| e.into_inner());
    let slot = x.slot(&zone.name);
    {
        let kept = lock(&slot);
        let data = zone.data.load_full();
        if let Some(c) = kept.as_ref().filter(|c| c.serial == data.serial) {
            return Plan::Whole(data, c.wire_records());
        }
    }
    let data = zone.data.load_full();
    let Some(sec) = &data.sec else {
        return Plan::Whole(data, Vec::new());
    };
    let Some(built) = LiveChain::build(&apex, &data, sec) else {
        let chain = nsec_chain(&apex, &data, sec);
        return Plan::Whole(data, chain);
    };
    let records = built.wire_records();
    let mut kept = lock(&slot);
    // Keep it unless a group was published meanwhile (the chain would lag the zone).
    if zone.data.load().serial == data.serial {
        *kept = Some(built);
    }
    drop(kept);
    Plan::Whole(data, records)
}

/// Add to `del` the records of `before` not in `after`, and to `add` the reverse. Records are
/// compared whole (TTL included), so a changed TTL replaces the RRset.
fn diff(before: Vec<Vec<u8>>, after: Vec<Vec<u8>>, del: &mut Vec<Vec<u8>>, add: &mut Vec<Vec<u8>>) {
    for r in &before {
        if !after.contains(r) {
            del.push(r.clone());
        }
    }
    for r in after {
        if !before.contains(&r) {
            add.push(r);
        }
    }
}

/// An RRset's records: the RDATAs as `rtype`, then its RRSIGs.
fn set_records(owner: &[u8], rtype: u16, ttl: u32, data: &[u8], sigs: &[u8]) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = RdataIter::over(data)
        .map(|rd| record(owner, rtype, ttl, rd))
        .collect();
    out.extend(RdataIter::over(sigs).map(|s| record(owner, TYPE_RRSIG, ttl, s)));
    out
}

/// The condensed difference from serial `from` to the current snapshot, when the journal
/// (and, for a signed zone, the kept chain) reach back to it.
fn difference(view: &DnsView, zone: &Zone, from: u32) -> Option<Plan> {
    let x = view.xfr.as_ref()?;
    let apex = zone.apex.to_bytes().ok()?;
    let (mut deleted, mut added) = (Vec::new(), Vec::new());
    let mut data = zone.data.load_full();
    if data.sec.is_some() {
        // The chain and the snapshot are read under the chain's lock: the same serial.
        let slot = x.existing_slot(&zone.name)?;
        let kept = lock(&slot);
        let chain = kept.as_ref()?;
        data = zone.data.load_full();
        let sec = data.sec.as_ref()?;
        if chain.serial != data.serial {
            return None;
        }
        let before = chain.since(from)?;
        let ttl = view.apex.cfg.soa_ttl;
        diff(
            set_records(&apex, TYPE_RRSIG, ttl, &[], &before.soa_sigs),
            set_records(&apex, TYPE_RRSIG, ttl, &[], &sec.soa_sig),
            &mut deleted,
            &mut added,
        );
        for (h, rec) in &before.records {
            diff(
                chain.wire_of(h, rec.as_ref()),
                chain.wire_of(h, chain.current(h)),
                &mut deleted,
                &mut added,
            );
        }
    }
    let entries = x.journal()?.changes(&zone.name, from, data.serial)?;
    for ((key, rtype), st) in journal::first_states(&entries)? {
        let owner = owner_wire(&key, &apex);
        let before = set_records(&owner, rtype, st.ttl, &st.data, &st.sigs);
        let after = match data.find(&view.hasher, &key) {
            Found::Node(node) => node
                .rrsets()
                .find(|s| s.rtype.code() == rtype)
                .map(|s| set_records(&owner, rtype, s.ttl, s.data, s.sigs))
                .unwrap_or_default(),
            _ => Vec::new(),
        };
        diff(before, after, &mut deleted, &mut added);
    }
    Some(Plan::Difference {
        data,
        from,
        deleted,
        added,
    })
}

/// A whole record in wire form (owner uncompressed).
pub(super) fn record(owner: &[u8], rtype: u16, ttl: u32, rdata: &[u8]) -> Vec<u8> {
    let mut r = Vec::with_capacity(owner.len() + 10 + rdata.len());
    r.extend_from_slice(owner);
    r.extend_from_slice(&rtype.to_be_bytes());
    r.extend_from_slice(&1u16.to_be_bytes());
    r.extend_from_slice(&ttl.to_be_bytes());
    r.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
    r.extend_from_slice(rdata);
    r
}

/// The zone's SOA at `serial`, as a wire record.
pub(super) fn soa_record(view: &DnsView, zone: &Zone, serial: u32) -> Vec<u8> {
    let rec = view.soa(zone, serial, view.apex.cfg.soa_ttl);
    let mut rdata = Vec::with_capacity(64);
    let mut enc = BinEncoder::new(&mut rdata);
    enc.set_canonical_form(true);
    if let Err(e) = rec.data.emit(&mut enc) {
        log::error!("xfr: encoding the SOA of {}: {e}", zone.name);
    }
    record(
        &zone.apex.to_bytes().unwrap_or_default(),
        TYPE_SOA,
        view.apex.cfg.soa_ttl,
        &rdata,
    )
}

/// SOA, every RRset with its signatures (and a signed zone's apex key sets and SOA
/// signature), SOA (RFC 5936 §2.2).
async fn whole_zone<W: AsyncWrite + Unpin>(
    out: &mut Sender<'_, W>,
    zone: &Zone,
    data: &ZoneData,
    soa: &[u8],
    chain: &[Vec<u8>],
) -> io::Result<()> {
    let apex = zone.apex.to_bytes().unwrap_or_default();
    out.push(soa).await?;
    if let Some(sec) = &data.sec {
        let soa_ttl = u32::from_be_bytes([
            soa[apex.len() + 4],
            soa[apex.len() + 5],
            soa[apex.len() + 6],
            soa[apex.len() + 7],
        ]);
        for sig in RdataIter::over(&sec.soa_sig) {
            out.push(&record(&apex, TYPE_RRSIG, soa_ttl, sig)).await?;
        }
        for set in sec.apex_sets.iter() {
            for rd in RdataIter::over(&set.data) {
                out.push(&record(&apex, set.code, set.ttl, rd)).await?;
            }
            for sig in RdataIter::over(&set.sigs) {
                out.push(&record(&apex, TYPE_RRSIG, set.ttl, sig)).await?;
            }
        }
    }
    for node in data.nodes() {
        let owner = owner_wire(node.key(), &apex);
        for set in node.rrsets() {
            let code = set.rtype.code();
            for rd in set.rdatas() {
                out.push(&record(&owner, code, set.ttl, rd)).await?;
            }
            for sig in set.rrsigs() {
                out.push(&record(&owner, TYPE_RRSIG, set.ttl, sig)).await?;
            }
        }
    }
    for rec in chain {
        out.push(rec).await?;
    }
    out.push(soa).await
}

/// `rec` with its owner's trailing `zone` (wire, with the root label) replaced by a pointer to
/// offset 12; `None` when the owner does not end in it.
fn compress_owner(rec: &[u8], zone: &[u8]) -> Option<Vec<u8>> {
    let mut i = 0;
    loop {
        let l = usize::from(*rec.get(i)?);
        if rec.get(i..i + zone.len()) == Some(zone) {
            let mut out = Vec::with_capacity(rec.len());
            out.extend_from_slice(&rec[..i]);
            out.extend_from_slice(&[0xC0, 0x0C]);
            out.extend_from_slice(rec.get(i + zone.len()..)?);
            return Some(out);
        }
        if l == 0 || l > 63 {
            return None;
        }
        i += 1 + l;
    }
}

/// Builds and sends the messages of one response.
struct Sender<'a, W> {
    stream: &'a mut W,
    timeout: Duration,
    tsig: TsigStream,
    /// The request's header and question, copied into every message.
    header: Vec<u8>,
    buf: Vec<u8>,
    count: u16,
    messages: usize,
    records: usize,
    bytes: usize,
}

impl<W: AsyncWrite + Unpin> Sender<'_, W> {
    fn begin(&mut self) {
        self.buf.clear();
        self.buf.extend_from_slice(&self.header);
        // QR, AA, opcode QUERY, RD copied; QDCOUNT 1, the rest counted as we go.
        self.buf[2] = 0x84 | (self.header[2] & 0x01);
        self.buf[3] = 0;
        self.buf[4..12].copy_from_slice(&[0, 1, 0, 0, 0, 0, 0, 0]);
        self.count = 0;
    }

    async fn push(&mut self, rec: &[u8]) -> io::Result<()> {
        // Owner names end in the zone's name, which is the question at offset 12 of every
        // message: point there (RFC 1035 §4.1.4) instead of repeating it.
        let zone = &self.header[12..self.header.len() - 4];
        let squeezed = compress_owner(rec, zone);
        let rec = squeezed.as_deref().unwrap_or(rec);
        let room = 65_535 - self.tsig.tsig_len() - 64;
        if self.count > 0
            && (self.buf.len() + rec.len() > TARGET || self.buf.len() + rec.len() > room)
        {
            self.send(false).await?;
            self.begin();
        }
        self.buf.extend_from_slice(rec);
        self.count += 1;
        self.records += 1;
        self.buf[6..8].copy_from_slice(&self.count.to_be_bytes());
        Ok(())
    }

    async fn send(&mut self, last: bool) -> io::Result<()> {
        let mut msg = std::mem::take(&mut self.buf);
        self.tsig
            .next(&mut msg, last, crate::clock::unix_now())
            .map_err(|e| io::Error::other(e.to_string()))?;
        self.messages += 1;
        self.bytes += msg.len();
        write_message(self.stream, &msg, self.timeout).await?;
        self.buf = msg;
        Ok(())
    }

    async fn finish(&mut self) -> io::Result<()> {
        self.send(true).await
    }
}

#[cfg(test)]
mod tests {
    use super::compress_owner;

    #[test]
    fn owners_in_the_zone_point_at_the_question() {
        let zone = b"\x04zone\x04test\x00";
        let rec = [
            &b"\x03www\x04zone\x04test\x00"[..],
            &[0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 1, 2, 3, 4],
        ]
        .concat();
        let c = compress_owner(&rec, zone).unwrap();
        assert_eq!(&c[..6], b"\x03www\xC0\x0C");
        assert_eq!(&c[6..], &rec[15..]);
        // The apex itself is the pointer alone; a name elsewhere is left as it is.
        let apex = [&zone[..], &[0, 6, 0, 1]].concat();
        assert_eq!(&compress_owner(&apex, zone).unwrap()[..2], b"\xC0\x0C");
        assert!(compress_owner(b"\x03www\x04else\x00\x00\x01", zone).is_none());
        // A label that merely contains the zone's bytes is not a match at a label boundary.
        assert!(compress_owner(b"\x0bxx\x04zone\x04test\x00\x00\x01", zone).is_none());
    }
}
