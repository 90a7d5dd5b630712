//! The authoritative answer to one question, as plain sections: zone selection, the RFC 1034
//! §4.3.2 lookup algorithm with delegations, CNAMEs and wildcards (RFC 4592), negative answers
//! (RFC 2308) and additional-section processing. Pure over a zone snapshot, so it is unit-tested
//! without sockets; `server.rs` adds EDNS, truncation and the wire.

use std::sync::Arc;

use hickory_proto::op::{Edns, LowerQuery, OpCode, ResponseCode};
use hickory_proto::rr::rdata::{NS, SOA, TXT};
use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType};
use hickory_proto::serialize::binary::{BinDecoder, Restrict};

use super::zone::{Found, Node, RrsetRef, Zone, ZoneData};
use super::DnsView;
use crate::model::RType;

/// Longest CNAME chain followed inside one zone before answering with what we have.
const MAX_CNAME_CHAIN: usize = 8;

/// The sections of a response, before encoding.
pub(crate) struct Answer {
    pub rcode: ResponseCode,
    /// AA bit: set for answers from our zones, clear for referrals and refusals.
    pub authoritative: bool,
    pub answers: Vec<Record>,
    pub authority: Vec<Record>,
    pub additional: Vec<Record>,
    /// A referral: its glue is required (RFC 9471 §3), so truncate rather than drop it.
    pub glue_required: bool,
    /// The zone answering, for the per-zone counters; `None` for out-of-zone or malformed.
    pub zone: Option<Arc<Zone>>,
    /// Upper bound of the records' encoded size (uncompressed), to skip the truncation check.
    pub size_bound: usize,
}

impl Answer {
    fn error(rcode: ResponseCode) -> Self {
        Answer {
            rcode,
            authoritative: false,
            answers: Vec::new(),
            authority: Vec::new(),
            additional: Vec::new(),
            glue_required: false,
            zone: None,
            size_bound: 0,
        }
    }

    pub(super) fn push(
        section: &mut Vec<Record>,
        size: &mut usize,
        owner: &Name,
        set: RrsetRef<'_>,
    ) {
        let rtype = RecordType::from(set.rtype.code());
        for rd in set.rdatas() {
            let mut decoder = BinDecoder::new(rd);
            // rd.len() fits: RdataIter slices by a 16-bit length.
            match RData::read(&mut decoder, rtype, Restrict::new(rd.len() as u16)) {
                Ok(rdata) => {
                    // Owner (wire length <= presentation length + 1), type/class/ttl/rdlength.
                    *size += owner.len() + 2 + 10 + rd.len();
                    section.push(Record::from_rdata(owner.clone(), set.ttl, rdata));
                }
                Err(e) => log::error!("dns: stored RDATA of {owner} {rtype} does not decode: {e}"),
            }
        }
    }
}

/// The answer to a request's header and question (RFC 1035 §4.1): checks that apply before any
/// zone data is looked at, then `DnsView::resolve`.
pub(crate) fn answer_request(
    view: &DnsView,
    op_code: OpCode,
    queries: &[LowerQuery],
    edns: Option<&Edns>,
) -> Answer {
    // lucentd is the primary of every zone it serves: a NOTIFY sent to it is refused (RFC 1996
    // does not require accepting them; NOTIMP would say the opcode is unknown).
    if op_code == OpCode::Notify {
        return Answer::error(ResponseCode::Refused);
    }
    // RFC 1035 §4.1.1: NOTIMP for kinds of query we do not implement (UPDATE, ...).
    if op_code != OpCode::Query {
        return Answer::error(ResponseCode::NotImp);
    }
    // RFC 6891 §6.1.3: we speak EDNS version 0 only.
    if edns.is_some_and(|e| e.version() > 0) {
        return Answer::error(ResponseCode::BADVERS);
    }
    // RFC 9619 §4: QDCOUNT must be 1 for QUERY; anything else is a format error.
    let [query] = queries else {
        return Answer::error(ResponseCode::FormErr);
    };
    let qtype = query.query_type();
    // Zone transfers run over TCP only (tcp.rs hands them to xfr/transfer.rs before this);
    // over UDP they are REFUSED, as RFC 5936 §4.2 lets a server refuse them.
    if matches!(qtype, RecordType::AXFR | RecordType::IXFR) {
        return Answer::error(ResponseCode::Refused);
    }
    // CH TXT `id.server` (RFC 4892 §2) and `hostname.bind` name this server when the
    // operator set `server_id`; other CH names (version.bind) and other classes are refused.
    if query.query_class() == DNSClass::CH {
        return server_identity(view, query)
            .unwrap_or_else(|| Answer::error(ResponseCode::Refused));
    }
    if query.query_class() != DNSClass::IN {
        return Answer::error(ResponseCode::Refused);
    }
    let dnssec_ok = edns.is_some_and(|e| e.flags().dnssec_ok);
    view.resolve_with(query.original().name(), qtype, dnssec_ok)
}

/// The CH TXT answer naming this server, if configured and asked for (`id.server.` or
/// `hostname.bind.`, TXT or ANY). TTL 0, as BIND and NSD give it: it names whichever
/// server of an anycast set answered.
fn server_identity(view: &DnsView, query: &LowerQuery) -> Option<Answer> {
    let id = view.server_id.as_deref()?;
    let name = query.original().name();
    let asked = ["id.server.", "hostname.bind."]
        .iter()
        .any(|n| Name::from_ascii(n).is_ok_and(|n| n.eq_case(&name.to_lowercase())));
    if !asked || !matches!(query.query_type(), RecordType::TXT | RecordType::ANY) {
        return None;
    }
    let mut record = Record::from_rdata(name.clone(), 0, RData::TXT(TXT::new(vec![id.into()])));
    record.dns_class = DNSClass::CH;
    let mut out = Answer::error(ResponseCode::NoError);
    out.authoritative = true;
    out.size_bound = name.len() + 2 + 10 + id.len() + 1;
    out.answers.push(record);
    Some(out)
}

/// A name's lowercase labels and their wire form, for zone selection and keys.
struct QName {
    labels: Vec<Box<[u8]>>,
    /// Wire form (length-prefixed labels, no root) and the offset of each label in it.
    wire: Vec<u8>,
    offsets: Vec<usize>,
}

impl QName {
    fn new(name: &Name) -> Self {
        let mut labels = Vec::with_capacity(usize::from(name.num_labels()));
        let mut wire = Vec::with_capacity(name.len() + 1);
        let mut offsets = Vec::with_capacity(labels.capacity());
        for label in name.iter() {
            let lower = label.to_ascii_lowercase().into_boxed_slice();
            offsets.push(wire.len());
            // Labels are at most 63 octets (RFC 1035 §2.3.4).
            wire.push(lower.len() as u8);
            wire.extend_from_slice(&lower);
            labels.push(lower);
        }
        QName {
            labels,
            wire,
            offsets,
        }
    }

    fn suffix(&self, i: usize) -> &[u8] {
        self.offsets.get(i).map_or(&[][..], |&o| &self.wire[o..])
    }
}

/// Lookup state over one zone snapshot.
pub(super) struct Ctx<'a> {
    pub view: &'a DnsView,
    pub zone: &'a Arc<Zone>,
    pub data: &'a ZoneData,
    pub out: Answer,
    /// DO=1 (RFC 3225): add RRSIGs and denial proofs when the zone is signed.
    pub dnssec_ok: bool,
    /// The closest encloser's key while answering from its wildcard (RFC 4592).
    pub wildcard_ce: Option<Vec<u8>>,
}

impl DnsView {
    /// The served zone closest to `name` (RFC 1034 §4.3.2 step 2: longest match, so a zone
    /// `sub.example.org` wins over `example.org`), with the number of labels of `name` in front
    /// of its apex.
    fn find_zone(&self, q: &QName) -> Option<(usize, Arc<Zone>)> {
        let zones = self.zones.load();
        (0..q.labels.len()).find_map(|i| zones.get(q.suffix(i)).map(|z| (i, z.clone())))
    }

    /// Answer `qname`/`qtype` (class IN) from the served zones, without DNSSEC records.
    #[cfg(test)]
    pub(crate) fn resolve(&self, qname: &Name, qtype: RecordType) -> Answer {
        self.resolve_with(qname, qtype, false)
    }

    /// Answer `qname`/`qtype` (class IN); with `dnssec_ok`, a signed zone's answer carries its
    /// RRSIGs and denial proofs (RFC 4035 §3.1).
    pub(crate) fn resolve_with(&self, qname: &Name, qtype: RecordType, dnssec_ok: bool) -> Answer {
        let q = QName::new(qname);
        // Authoritative only: names outside our zones are refused, never recursed
        // (RFC 1035 §4.1.1 REFUSED, "for policy reasons").
        let Some((rel, zone)) = self.find_zone(&q) else {
            return Answer::error(ResponseCode::Refused);
        };
        let data = zone.data.load();
        let mut ctx = Ctx {
            view: self,
            zone: &zone,
            data: &data,
            out: Answer::error(ResponseCode::NoError),
            dnssec_ok,
            wildcard_ce: None,
        };
        // RFC 1035 §4.1.1: AA for answers from our authoritative data (cleared for referrals).
        ctx.out.authoritative = true;
        ctx.lookup(qname, &q.labels[..rel], qtype, 0);
        let mut out = ctx.out;
        out.zone = Some(zone.clone());
        out
    }

    pub(super) fn soa(&self, zone: &Zone, serial: u32, ttl: u32) -> Record {
        let cfg = &self.apex.cfg;
        // MNAME is the primary nameserver: the first configured NS (RFC 1035 §3.3.13).
        let mname = self
            .apex
            .nameservers
            .first()
            .cloned()
            .unwrap_or_else(|| zone.apex.clone());
        let rname = self.apex.rname.clone().unwrap_or_else(|| {
            Name::from_ascii("hostmaster")
                .and_then(|h| h.append_domain(&zone.apex))
                .unwrap_or_else(|_| zone.apex.clone())
        });
        // SOA timers are 32-bit on the wire; hickory types three as i32 (bit pattern kept).
        let soa = SOA::new(
            mname,
            rname,
            serial,
            cfg.refresh as i32,
            cfg.retry as i32,
            cfg.expire as i32,
            cfg.minimum,
        );
        Record::from_rdata(zone.apex.clone(), ttl, RData::SOA(soa))
    }
}

impl Ctx<'_> {
    /// RFC 1034 §4.3.2 step 3 for `owner` (original case) whose labels under the apex are `rel`
    /// (lowercase, leftmost first). Appends to `self.out`.
    fn lookup(&mut self, owner: &Name, rel: &[Box<[u8]>], qtype: RecordType, chain: usize) {
        self.wildcard_ce = None;
        let n = rel.len();
        let mut key: Vec<u8> = Vec::with_capacity(64);
        if n == 0 {
            let data = self.data;
            let apex = match data.find(&self.view.hasher, &[]) {
                Found::Node(node) => Some(node),
                _ => None,
            };
            self.answer_apex(owner, apex, qtype);
            return;
        }
        // Walk down from the apex one label at a time (step 3b: look for a zone cut; step 3c:
        // the name does not exist below the closest encloser).
        for k in 1..=n {
            let label = &rel[n - k];
            key.push(label.len() as u8);
            key.extend_from_slice(label);
            let data = self.data;
            match data.find(&self.view.hasher, &key) {
                Found::Node(node) => {
                    // RFC 1034 §4.3.2 3b: NS below the apex is a delegation; names at and
                    // under the cut get a referral. DS at the cut itself belongs to the parent
                    // side (RFC 4035 §3.1.4.1): answer it here, authoritatively.
                    if let Some(ns) = node.get(RType::Ns) {
                        if !(k == n && qtype == RecordType::DS) {
                            self.referral(owner, n - k, ns);
                            self.prove_unsigned_delegation(&key, node);
                            return;
                        }
                    }
                    if k == n {
                        self.answer_node(owner, node, qtype, chain);
                        return;
                    }
                }
                Found::Empty => {
                    if k == n {
                        // An empty non-terminal exists: NODATA, not NXDOMAIN (RFC 8020 §2,
                        // RFC 4592 §2.2.2). lego probes `_acme-challenge.<host>` this way.
                        self.nodata(owner, None);
                        return;
                    }
                }
                Found::Missing => {
                    // The closest encloser is the name above; try its wildcard.
                    key.truncate(key.len() - 1 - label.len());
                    self.wildcard_or_nxdomain(owner, key, qtype, chain);
                    return;
                }
            }
        }
    }

    /// RFC 4592 §3.3.1: a name that does not exist matches `*.<closest encloser>` if that
    /// exists; otherwise NXDOMAIN (RFC 1034 §4.3.2 3c, RFC 2308 §2.1).
    fn wildcard_or_nxdomain(
        &mut self,
        owner: &Name,
        mut key: Vec<u8>,
        qtype: RecordType,
        chain: usize,
    ) {
        let ce_len = key.len();
        key.extend_from_slice(b"\x01*");
        let data = self.data;
        match data.find(&self.view.hasher, &key) {
            // The answer is synthesised with the query name as owner (RFC 4592 §3.3.1).
            Found::Node(node) => {
                let ce = key[..ce_len].to_vec();
                self.wildcard_ce = Some(ce.clone());
                let before = self.out.authority.len();
                self.answer_node(owner, node, qtype, chain);
                // A positive wildcard answer proves the query name itself does not exist
                // (RFC 4035 §3.1.3.3, RFC 5155 §7.2.6).
                if self.out.authority.len() == before {
                    self.prove_wildcard_answer(owner, &ce);
                }
            }
            // A wildcard that is itself an empty non-terminal still exists (RFC 4592 §4.2).
            Found::Empty => {
                self.wildcard_ce = Some(key[..ce_len].to_vec());
                self.nodata(owner, None)
            }
            Found::Missing => {
                self.out.rcode = ResponseCode::NXDomain;
                self.negative_soa();
                key.truncate(ce_len);
                self.deny_name(owner, &key);
            }
        }
    }

    fn answer_apex(&mut self, owner: &Name, node: Option<&Node>, qtype: RecordType) {
        match qtype {
            // The SOA is synthesised from the config and the zone serial.
            RecordType::SOA => {
                let ttl = self.view.apex.cfg.soa_ttl;
                let soa = self.view.soa(self.zone, self.data.serial, ttl);
                self.out.size_bound += soa_size(&soa);
                self.out.answers.push(soa);
                self.push_soa_sig(true, ttl);
            }
            RecordType::DNSKEY | RecordType::CDS | RecordType::CDNSKEY | RecordType::NSEC3PARAM
                if self.answer_apex_keys(owner, qtype) => {}
            // RFC 8482 §4.1: answer ANY with one RRset; at the apex, the SOA.
            RecordType::ANY => self.answer_apex(owner, node, RecordType::SOA),
            RecordType::NS if node.and_then(|n| n.get(RType::Ns)).is_none() => {
                // No NS from the store: fall back to the configured nameservers.
                let ttl = self.view.apex.cfg.ns_ttl;
                for ns in &self.view.apex.nameservers {
                    self.out.size_bound += owner.len() + 12 + ns.len() + 2;
                    self.out.answers.push(Record::from_rdata(
                        owner.clone(),
                        ttl,
                        RData::NS(NS(ns.clone())),
                    ));
                }
            }
            _ => match node {
                Some(node) => self.answer_node(owner, node, qtype, 0),
                None => self.nodata(owner, None),
            },
        }
    }

    /// Answer from an existing node (or a wildcard standing in for `owner`).
    fn answer_node(&mut self, owner: &Name, node: &Node, qtype: RecordType, chain: usize) {
        if qtype == RecordType::ANY {
            // RFC 8482 §4.1: a minimal answer, one RRset of those present.
            match node.first() {
                Some(set) => self.push_answer(owner, set),
                None => self.nodata(owner, Some(node)),
            }
            return;
        }
        let wanted = RType::from_code(u16::from(qtype)).filter(|t| *t != RType::Soa);
        if let Some(set) = wanted.and_then(|t| node.get(t)) {
            self.push_answer(owner, set);
            // RFC 1035 §3.3.9/§3.3.11, RFC 2782: A/AAAA of in-zone targets in additional.
            if matches!(set.rtype, RType::Mx | RType::Ns | RType::Srv) {
                let first = self.out.answers.len() - set.rdatas().count();
                let targets: Vec<Name> = self.out.answers[first..]
                    .iter()
                    .filter_map(|r| target_of(&r.data))
                    .collect();
                for t in &targets {
                    self.add_addresses(t);
                }
            }
            return;
        }
        if let Some(cname) = node.get(RType::Cname) {
            // RFC 1034 §4.3.2 3a: the name is an alias; answer the CNAME and, when the target
            // is in this zone, restart with it (bounded against loops).
            self.push_answer(owner, cname);
            if qtype == RecordType::CNAME {
                return;
            }
            let target = match self.out.answers.last().map(|r| &r.data) {
                Some(RData::CNAME(c)) => c.0.clone(),
                _ => return,
            };
            if chain + 1 >= MAX_CNAME_CHAIN {
                return;
            }
            if let Some(rel) = self.relative_labels(&target) {
                // RFC 6604 §3: the rcode follows the last name of the chain.
                self.lookup(&target, &rel, qtype, chain + 1);
            }
            return;
        }
        // The name exists, without this type: NODATA (RFC 2308 §2.2).
        self.nodata(owner, Some(node));
    }

    /// Lowercase labels of `name` under this zone's apex, if `name` is in this zone and not in a
    /// more specific zone we also serve.
    fn relative_labels(&self, name: &Name) -> Option<Vec<Box<[u8]>>> {
        let q = QName::new(name);
        let (rel, zone) = self.view.find_zone(&q)?;
        if !Arc::ptr_eq(&zone, self.zone) {
            return None;
        }
        let mut labels = q.labels;
        labels.truncate(rel);
        Some(labels)
    }

    /// A/AAAA of `target` when it is in this zone (exact names only, no wildcards), for the
    /// additional section (RFC 1034 §3.6.2 / §4.3.2 step 6).
    fn add_addresses(&mut self, target: &Name) {
        let Some(rel) = self.relative_labels(target) else {
            return;
        };
        let key = super::zone::key_from_labels(rel.iter().map(|l| &**l));
        let data = self.data;
        if let Found::Node(node) = data.find(&self.view.hasher, &key) {
            for t in [RType::A, RType::Aaaa] {
                if let Some(set) = node.get(t) {
                    if self
                        .out
                        .additional
                        .iter()
                        .any(|r| r.name == *target && r.record_type() == RecordType::from(t.code()))
                    {
                        continue;
                    }
                    Answer::push(
                        &mut self.out.additional,
                        &mut self.out.size_bound,
                        target,
                        set,
                    );
                    if self.dnssec_ok {
                        Self::push_rrsigs(
                            &mut self.out.additional,
                            &mut self.out.size_bound,
                            target,
                            set,
                        );
                    }
                }
            }
        }
    }

    /// RFC 1034 §4.3.2 3b: refer to the child zone's nameservers. Not authoritative (AA clear),
    /// NS in authority, glue for in-zone nameserver names in additional.
    fn referral(&mut self, owner: &Name, below_cut: usize, ns: RrsetRef<'_>) {
        // An alias chain that led here keeps AA: it describes the answer section's first owner.
        if self.out.answers.is_empty() {
            self.out.authoritative = false;
        }
        let cut = owner.trim_to(usize::from(owner.num_labels()) - below_cut);
        Answer::push(&mut self.out.authority, &mut self.out.size_bound, &cut, ns);
        let targets: Vec<Name> = self
            .out
            .authority
            .iter()
            .filter_map(|r| target_of(&r.data))
            .collect();
        for t in &targets {
            self.add_addresses(t);
        }
        self.out.glue_required = !self.out.additional.is_empty();
    }

    /// NOERROR with no data at `owner` (whose node is `node`; None for an empty non-terminal
    /// or an apex without records): the SOA in authority (RFC 2308 §2.2), and the proof.
    fn nodata(&mut self, owner: &Name, node: Option<&Node>) {
        self.negative_soa();
        self.deny_type(owner, node);
    }

    /// RFC 2308 §3: the SOA in a negative answer carries TTL = min(SOA TTL, SOA MINIMUM).
    fn negative_soa(&mut self) {
        let cfg = &self.view.apex.cfg;
        let ttl = cfg.soa_ttl.min(cfg.minimum);
        let soa = self.view.soa(self.zone, self.data.serial, ttl);
        self.out.size_bound += soa_size(&soa);
        self.out.authority.push(soa);
        self.push_soa_sig(false, ttl);
    }
}

/// The host name an NS/MX/SRV record points at (the root for null MX / "no service").
fn target_of(data: &RData) -> Option<Name> {
    let name = match data {
        RData::NS(ns) => &ns.0,
        RData::MX(mx) => &mx.exchange,
        RData::SRV(srv) => &srv.target,
        _ => return None,
    };
    (!name.is_root()).then(|| name.clone())
}

fn soa_size(soa: &Record) -> usize {
    match &soa.data {
        RData::SOA(s) => soa.name.len() + 12 + s.mname.len() + s.rname.len() + 4 + 20,
        _ => 0,
    }
}
