//! Certificate chain validation as Zeek's `policy/protocols/ssl/validate-certs`
//! does it: OpenSSL's `X509_verify_cert` against a root store, at the time
//! of the traffic (not the time of analysis), reporting OpenSSL's own
//! result string (`ok`, `unable to get local issuer certificate`,
//! `certificate has expired`, ...).
//!
//! As the script does:
//! - a chain's result is reused while it is asked for again within five
//!   minutes (`recently_validated_certs`, `&read_expire=5mins`);
//! - the intermediate certificates of every chain that validates are kept
//!   by the subject of the first of them (`intermediate_cache`,
//!   `SSL::ssl_cache_intermediate_ca`), and an end-host certificate whose
//!   issuer is kept is first tried with them, so a server that leaves out
//!   its intermediates validates once another server has sent them. The
//!   kept intermediates are one table per run, shared by the workers as a
//!   Zeek cluster shares them.
//!
//! A chain validated again once its result expired is answered without
//! OpenSSL when nothing OpenSSL looks at can have changed: verification
//! depends on the time only through the validity bounds of the
//! certificates it can consider (the chain given and the roots its names
//! reach), so an outcome holds for as long as the time stays between the
//! same bounds (see [`Outcome`]).

use hashbrown::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use openssl::asn1::Asn1Time;
use openssl::stack::Stack;
use openssl::x509::store::{X509Store, X509StoreBuilder};
use openssl::x509::verify::X509VerifyParam;
use openssl::x509::{X509StoreContext, X509};
use sha2::{Digest, Sha256};

use crate::inline_str::InlineStr;

pub use super::roots::Roots;

/// A validation result as ssl.log writes it.
pub type Status = InlineStr<96>;

/// How long a chain's result is reused after it was last asked for.
const CACHE_NS: u64 = 300 * 1_000_000_000;
/// Most results cached (and leaves' issuers); a cache is emptied when full.
const MAX_CACHED: usize = 10_000;
/// Most parsed certificates kept for validating again (a chain whose
/// result expired, a leaf tried with kept intermediates): OpenSSL takes
/// longer to decode a certificate than to check a chain of decoded ones.
/// The table is emptied when full.
const MAX_PARSED: usize = 1024;
/// Most certificates of a chain looked at (the TLS analyzer hands over at
/// most this many).
const MAX_CHAIN: usize = 16;
/// Most certificates held by remembered outcomes (the chains OpenSSL
/// built, kept to keep their intermediates again); the table is emptied
/// when full.
const MAX_OUTCOME_CERTS: usize = 4096;
/// Most issuers whose intermediates are kept (the sensor's bound; Zeek's
/// table has none): past it, one kept entry goes for each new one.
const MAX_INTERMEDIATES: usize = 10_000;

/// The intermediates kept from chains that validated, by the SHA-256 of
/// the DER subject name of the first (`x509_subject_name_hash(_, 4)`).
#[derive(Debug, Default)]
pub struct IntermediateCache {
    by_subject: HashMap<[u8; 32], Vec<Kept>>,
    /// Entries dropped at the bound.
    pub evicted: u64,
}

/// The run's kept intermediates, shared by its workers.
pub type Intermediates = Arc<Mutex<IntermediateCache>>;

/// Validates chains against a fixed set of roots.
pub struct Validator {
    roots: Roots,
    /// Results by chain, with when each was last asked for.
    cache: HashMap<Box<[[u8; 32]]>, (Status, u64)>,
    /// Each leaf's issuer name hash, by the leaf's digest.
    issuers: HashMap<[u8; 32], Option<[u8; 32]>>,
    /// Decoded certificates by digest (`None`: it does not decode).
    parsed: HashMap<[u8; 32], Option<X509>>,
    /// What OpenSSL said of each chain, and for how long it would say it.
    outcomes: HashMap<Box<[[u8; 32]]>, Outcome>,
    /// Certificates the outcomes hold.
    outcome_certs: usize,
    intermediates: Intermediates,
    /// Whether intermediates are kept and tried (the script's
    /// `ssl_cache_intermediate_ca`).
    keep_intermediates: bool,
}

/// What one `x509_verify` gave.
struct Verified {
    status: Status,
    /// The chain OpenSSL built, end-host certificate to root, when it
    /// validated.
    chain: Vec<X509>,
    /// The seconds over which every certificate OpenSSL could consider is
    /// on the same side of each of its validity bounds as at the time
    /// verified: `[from, until)`. `None` when a bound does not read as a
    /// time.
    holds: Option<(i64, i64)>,
}

/// A remembered verification. OpenSSL reads the time only to compare it
/// with certificates' notBefore and notAfter (`X509_cmp_time`: is the
/// bound at or before the time), when it checks a chain and when it
/// prefers a currently valid issuer among candidates; with no CRLs there
/// is nothing else. Within `[from, until)` each of those comparisons comes
/// out as it did, so verification would give the same result and chain.
struct Outcome {
    status: Status,
    chain: Vec<X509>,
    from: i64,
    until: i64,
}

impl std::fmt::Debug for Validator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Validator({} roots)", self.roots.len())
    }
}

impl Validator {
    /// Roots from a PEM bundle (if given) plus DER certificates.
    pub fn new(bundle: Option<&Path>, extra_der: &[Vec<u8>]) -> Result<Self, String> {
        Ok(Validator::with_roots(Roots::load(bundle, extra_der)?))
    }

    /// A validator trusting `roots` (loaded once for the run).
    pub fn with_roots(roots: Roots) -> Self {
        Validator {
            roots,
            cache: HashMap::new(),
            issuers: HashMap::new(),
            parsed: HashMap::new(),
            outcomes: HashMap::new(),
            outcome_certs: 0,
            intermediates: Intermediates::default(),
            keep_intermediates: true,
        }
    }

    /// The validator, keeping and trying intermediates or not.
    pub fn keeping_intermediates(mut self, keep: bool) -> Self {
        self.keep_intermediates = keep;
        self
    }

    /// Intermediates dropped from the full table.
    pub fn intermediates_evicted(&self) -> u64 {
        self.intermediates.lock().map_or(0, |t| t.evicted)
    }

    /// Uses `table` (the run's) for the kept intermediates.
    pub fn share_intermediates(&mut self, table: Intermediates) {
        self.intermediates = table;
    }

    /// Validates `chain` (end-host certificate first) at `ts` (ns since
    /// the epoch); `None` when the end-host certificate does not parse.
    /// `digests` are the certificates' SHA-256s, in the chain's order.
    ///
    /// A chain asked for again (busy servers send the same one on every
    /// handshake) is answered from its digests alone: certificates are
    /// parsed only when a chain is validated anew, and a leaf's issuer
    /// name only the first time the leaf is seen.
    pub fn validate(&mut self, chain: &[&[u8]], digests: &[[u8; 32]], ts: u64) -> Option<Status> {
        let n = chain.len().min(digests.len()).min(MAX_CHAIN);
        let (chain, digests) = (&chain[..n], &digests[..n]);
        let leaf_digest = *digests.first()?;
        // A working chain for the leaf's issuer is tried first.
        if self.keep_intermediates {
            if let Some(status) = self.with_kept(chain[0], leaf_digest, ts) {
                if status.as_bytes() == b"ok" {
                    return Some(status);
                }
            }
        }
        // A chain is known by its certificates' digests, in order.
        let key = digests;
        if let Some(status) = self.cached(key, ts) {
            return Some(status);
        }
        if let Some(status) = self.recalled(key, ts) {
            return Some(status);
        }
        let leaf = self.decoded(chain[0], leaf_digest)?;
        let untrusted: Vec<X509> = chain[1..]
            .iter()
            .zip(&digests[1..])
            .filter_map(|(der, d)| self.decoded(der, *d))
            .collect();
        self.validate_anew(key, &leaf, &untrusted, ts)
    }

    /// The leaf validated with the intermediates kept for its issuer, if
    /// any are.
    fn with_kept(&mut self, leaf_der: &[u8], leaf_digest: [u8; 32], ts: u64) -> Option<Status> {
        let issuer = self.issuer_of(leaf_der, leaf_digest)?;
        let table = Arc::clone(&self.intermediates);
        let (key, kept) = {
            let t = table.lock().ok()?;
            let kept = t.by_subject.get(&issuer)?;
            let digests = std::iter::once(leaf_digest).chain(kept.iter().map(|k| k.digest));
            let key = ChainKey::new(digests);
            if let Some(status) = self.cached(key.digests(), ts) {
                return Some(status);
            }
            if let Some(status) = self.recalled(key.digests(), ts) {
                return Some(status);
            }
            let certs: Vec<X509> = kept.iter().map(|k| k.cert.clone()).collect();
            (key, certs)
        };
        let leaf = self.decoded(leaf_der, leaf_digest)?;
        self.validate_anew(key.digests(), &leaf, &kept, ts)
    }

    /// The certificate `der` (whose SHA-256 is `digest`) decoded, from the
    /// table of decoded certificates when it is there.
    fn decoded(&mut self, der: &[u8], digest: [u8; 32]) -> Option<X509> {
        if let Some(c) = self.parsed.get(&digest) {
            return c.clone();
        }
        let c = X509::from_der(der).ok();
        if self.parsed.len() >= MAX_PARSED {
            self.parsed.clear();
        }
        self.parsed.insert(digest, c.clone());
        c
    }

    /// The SHA-256 of the leaf's issuer name (`x509_issuer_name_hash(_,
    /// 4)`), parsed once per leaf; `None` when it does not parse.
    fn issuer_of(&mut self, leaf_der: &[u8], leaf_digest: [u8; 32]) -> Option<[u8; 32]> {
        if let Some(h) = self.issuers.get(&leaf_digest) {
            return *h;
        }
        let h = self
            .decoded(leaf_der, leaf_digest)
            .and_then(|leaf| name_hash(leaf.issuer_name()));
        if self.issuers.len() >= MAX_CACHED {
            self.issuers.clear();
        }
        self.issuers.insert(leaf_digest, h);
        h
    }

    /// The result for chain `key` asked for within the last five minutes
    /// (asking keeps it another five: `&read_expire`).
    fn cached(&mut self, key: &[[u8; 32]], ts: u64) -> Option<Status> {
        let (status, at) = self.cache.get_mut(key)?;
        if ts.saturating_sub(*at) >= CACHE_NS {
            return None;
        }
        *at = (*at).max(ts);
        Some(*status)
    }

    /// The script's `cache_validate` past its cache: validates and
    /// remembers the result, and keeps the intermediates of a chain that
    /// validates through at least one.
    fn validate_anew(
        &mut self,
        key: &[[u8; 32]],
        leaf: &X509,
        untrusted: &[X509],
        ts: u64,
    ) -> Option<Status> {
        let v = self.verify(leaf, untrusted, ts)?;
        self.reuse(key, v.status, ts);
        self.keep_if_validated(v.status, &v.chain);
        if let Some((from, until)) = v.holds {
            self.remember(key, v.status, v.chain, from, until);
        }
        Some(v.status)
    }

    /// What verifying chain `key` at `ts` would give, when a remembered
    /// outcome holds at that time; settled as a verification is.
    fn recalled(&mut self, key: &[[u8; 32]], ts: u64) -> Option<Status> {
        let secs = seconds(ts);
        let o = self.outcomes.get(key)?;
        if secs < o.from || secs >= o.until {
            return None;
        }
        let status = o.status;
        self.keep_if_validated(status, &o.chain);
        self.reuse(key, status, ts);
        Some(status)
    }

    /// Remembers a verification's outcome while it holds.
    fn remember(
        &mut self,
        key: &[[u8; 32]],
        status: Status,
        chain: Vec<X509>,
        from: i64,
        until: i64,
    ) {
        if self.outcome_certs + chain.len() > MAX_OUTCOME_CERTS || self.outcomes.len() >= MAX_CACHED
        {
            self.outcomes.clear();
            self.outcome_certs = 0;
        }
        self.outcome_certs += chain.len();
        let old = self.outcomes.insert(
            key.into(),
            Outcome {
                status,
                chain,
                from,
                until,
            },
        );
        if let Some(old) = old {
            self.outcome_certs -= old.chain.len();
        }
    }

    /// The result of chain `key`, reused while asked for again within
    /// five minutes.
    fn reuse(&mut self, key: &[[u8; 32]], status: Status, ts: u64) {
        if let Some(entry) = self.cache.get_mut(key) {
            *entry = (status, ts);
            return;
        }
        if self.cache.len() >= MAX_CACHED {
            self.cache.clear();
        }
        self.cache.insert(key.into(), (status, ts));
    }

    /// Keeps the intermediates of `chain` (as OpenSSL built it) when it
    /// validated through at least one.
    fn keep_if_validated(&self, status: Status, chain: &[X509]) {
        if self.keep_intermediates && status.as_bytes() == b"ok" && chain.len() > 2 {
            self.keep(chain);
        }
    }

    /// Keeps the intermediates of a chain that validated (end-host
    /// certificate to root), unless its first intermediate's subject is
    /// kept already.
    fn keep(&self, chain: &[X509]) {
        let Some(key) = name_hash(chain[1].subject_name()) else {
            return;
        };
        let Ok(mut t) = self.intermediates.lock() else {
            return;
        };
        if t.by_subject.contains_key(&key) {
            return;
        }
        let kept: Vec<Kept> = chain[1..chain.len() - 1]
            .iter()
            .filter_map(|c| {
                let der = c.to_der().ok()?;
                Some(Kept {
                    cert: c.clone(),
                    digest: Sha256::digest(&der).into(),
                })
            })
            .collect();
        if t.by_subject.len() >= MAX_INTERMEDIATES {
            if let Some(k) = t.by_subject.keys().next().copied() {
                t.by_subject.remove(&k);
                t.evicted += 1;
            }
        }
        t.by_subject.insert(key, kept);
    }

    fn verify(&self, leaf: &X509, untrusted: &[X509], ts: u64) -> Option<Verified> {
        let mut stack = Stack::new().ok()?;
        for c in untrusted {
            stack.push(c.clone()).ok()?;
        }
        let secs = seconds(ts);
        let roots = self.reachable_roots(leaf, untrusted);
        let store = store(&roots, secs).ok()?;
        let mut ctx = X509StoreContext::new().ok()?;
        let (result, chain) = ctx
            .init(&store, leaf, &stack, |c| {
                let ok = c.verify_cert().unwrap_or(false);
                let chain = match c.chain() {
                    Some(s) if ok => s.iter().map(|x| x.to_owned()).collect(),
                    _ => Vec::new(),
                };
                Ok((c.error(), chain))
            })
            .ok()?;
        let text = match result.as_raw() {
            // Zeek spells OpenSSL 3's "self-signed certificate" the old way.
            18 => "self signed certificate",
            // OpenSSL 3.6 (the one built in) added "or the system clock is
            // incorrect"; Zeek prints the text of the OpenSSL it links, and
            // every release before 3.6 says this.
            9 => "certificate is not yet valid",
            _ => result.error_string(),
        };
        let considered = std::iter::once(leaf).chain(untrusted).chain(&roots);
        Some(Verified {
            status: Status::from_bytes(text.as_bytes()),
            chain,
            holds: holds(considered, secs),
        })
    }

    /// The roots the names of `leaf` and `untrusted` reach.
    fn reachable_roots(&self, leaf: &X509, untrusted: &[X509]) -> Vec<X509> {
        let mut names = Vec::with_capacity(2 * (untrusted.len() + 1));
        for c in std::iter::once(leaf).chain(untrusted) {
            names.push(c.subject_name());
            names.push(c.issuer_name());
        }
        self.roots.reachable(&names)
    }
}

/// A store of `roots`, checking validity at `time` (seconds).
fn store(roots: &[X509], time: i64) -> Result<X509Store, openssl::error::ErrorStack> {
    let mut b = X509StoreBuilder::new()?;
    for r in roots {
        b.add_cert(r.clone())?;
    }
    let mut param = X509VerifyParam::new()?;
    param.set_time(time as _);
    b.set_param(&param)?;
    Ok(b.build())
}

/// Seconds since the epoch of `ts` (ns), as verification reads the time.
fn seconds(ts: u64) -> i64 {
    (ts / 1_000_000_000) as i64
}

/// The span `[from, until)` of seconds around `secs` over which each
/// validity bound of `certs` compares with the time as it does at `secs`
/// (a bound at or before the time, or after it). `None` when a bound does
/// not read as a time.
fn holds<'a>(certs: impl Iterator<Item = &'a X509>, secs: i64) -> Option<(i64, i64)> {
    let epoch = Asn1Time::from_unix(0).ok()?;
    let (mut from, mut until) = (i64::MIN, i64::MAX);
    for c in certs {
        for bound in [c.not_before(), c.not_after()] {
            let d = epoch.diff(bound).ok()?;
            let b = i64::from(d.days) * 86_400 + i64::from(d.secs);
            if b <= secs {
                from = from.max(b);
            } else {
                until = until.min(b);
            }
        }
    }
    Some((from, until))
}

/// The digests of a chain put together from a leaf and kept
/// intermediates: inline for any chain the TLS analyzer hands over.
/// It lives on the stack for one call; boxing the inline form would
/// allocate on every handshake.
#[allow(clippy::large_enum_variant)]
enum ChainKey {
    Inline([[u8; 32]; MAX_CHAIN], usize),
    Heap(Vec<[u8; 32]>),
}

impl ChainKey {
    fn new(digests: impl Iterator<Item = [u8; 32]> + Clone) -> Self {
        let mut inline = [[0u8; 32]; MAX_CHAIN];
        let mut n = 0;
        for d in digests.clone() {
            if n == MAX_CHAIN {
                return ChainKey::Heap(digests.collect());
            }
            inline[n] = d;
            n += 1;
        }
        ChainKey::Inline(inline, n)
    }

    fn digests(&self) -> &[[u8; 32]] {
        match self {
            ChainKey::Inline(d, n) => &d[..*n],
            ChainKey::Heap(d) => d,
        }
    }
}

/// One kept intermediate, with the SHA-256 of its DER (for the result
/// cache's key).
#[derive(Clone, Debug)]
struct Kept {
    cert: X509,
    digest: [u8; 32],
}

/// `x509_subject_name_hash(_, 4)` / `x509_issuer_name_hash(_, 4)`: the
/// SHA-256 of a name's DER.
fn name_hash(name: &openssl::x509::X509NameRef) -> Option<[u8; 32]> {
    Some(Sha256::digest(name.to_der().ok()?).into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use openssl::asn1::Asn1Time;
    use openssl::bn::BigNum;
    use openssl::hash::MessageDigest;
    use openssl::pkey::{PKey, Private};
    use openssl::rsa::Rsa;
    use openssl::x509::extension::BasicConstraints;
    use openssl::x509::X509Name;

    fn digests(chain: &[&[u8]]) -> Vec<[u8; 32]> {
        chain.iter().map(|der| Sha256::digest(der).into()).collect()
    }

    /// 2024-01-01 00:00:00, in ns.
    const NOW: u64 = 1_704_067_200 * 1_000_000_000;

    fn key() -> PKey<Private> {
        PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap()
    }

    /// A certificate for `cn`, signed by `issuer` (itself when `None`).
    fn cert(
        cn: &str,
        k: &PKey<Private>,
        issuer: Option<(&X509, &PKey<Private>)>,
        ca: bool,
    ) -> X509 {
        let mut name = X509Name::builder().unwrap();
        name.append_entry_by_text("CN", cn).unwrap();
        let name = name.build();
        let mut b = X509::builder().unwrap();
        b.set_version(2).unwrap();
        let serial = BigNum::from_u32(cn.len() as u32 + 7).unwrap();
        b.set_serial_number(&serial.to_asn1_integer().unwrap())
            .unwrap();
        b.set_subject_name(&name).unwrap();
        b.set_issuer_name(issuer.map_or(&name, |(c, _)| c.subject_name()))
            .unwrap();
        b.set_pubkey(k).unwrap();
        b.set_not_before(&Asn1Time::from_unix(1_600_000_000).unwrap())
            .unwrap();
        b.set_not_after(&Asn1Time::from_unix(1_800_000_000).unwrap())
            .unwrap();
        if ca {
            b.append_extension(BasicConstraints::new().critical().ca().build().unwrap())
                .unwrap();
        }
        b.sign(issuer.map_or(k, |(_, ik)| ik), MessageDigest::sha256())
            .unwrap();
        b.build()
    }

    #[test]
    fn intermediates_of_a_valid_chain_complete_a_later_one() {
        let (rk, ik, ak, bk) = (key(), key(), key(), key());
        let root = cert("Root", &rk, None, true);
        let inter = cert("Intermediate", &ik, Some((&root, &rk)), true);
        let a = cert("a.example", &ak, Some((&inter, &ik)), false)
            .to_der()
            .unwrap();
        let b = cert("b.example", &bk, Some((&inter, &ik)), false)
            .to_der()
            .unwrap();
        let inter = inter.to_der().unwrap();
        let roots = [root.to_der().unwrap()];

        let status =
            |v: &mut Validator, chain: &[&[u8]]| v.validate(chain, &digests(chain), NOW).unwrap();
        // b without its intermediate, before anything is kept: no issuer.
        let mut v = Validator::new(None, &roots).unwrap();
        assert_eq!(
            status(&mut v, &[&b]).as_bytes(),
            b"unable to get local issuer certificate"
        );
        // a with it validates, and keeps it.
        assert_eq!(status(&mut v, &[&a, &inter]).as_bytes(), b"ok");
        // b alone now validates through the kept intermediate (its result
        // without it, cached above, is not asked for first).
        assert_eq!(status(&mut v, &[&b]).as_bytes(), b"ok");

        // The kept intermediates are the run's: another worker's validator
        // sharing the table finds them too; one with its own does not.
        let shared = v.intermediates.clone();
        let mut other = Validator::new(None, &roots).unwrap();
        other.share_intermediates(shared);
        assert_eq!(status(&mut other, &[&b]).as_bytes(), b"ok");
        let mut alone = Validator::new(None, &roots).unwrap();
        assert_eq!(
            status(&mut alone, &[&b]).as_bytes(),
            b"unable to get local issuer certificate"
        );

        // `SSL::ssl_cache_intermediate_ca = F`: nothing kept, nothing tried.
        let mut off = Validator::new(None, &roots)
            .unwrap()
            .keeping_intermediates(false);
        off.share_intermediates(v.intermediates.clone());
        assert_eq!(status(&mut off, &[&a, &inter]).as_bytes(), b"ok");
        assert_eq!(
            status(&mut off, &[&b]).as_bytes(),
            b"unable to get local issuer certificate"
        );
    }

    #[test]
    fn results_are_reused_while_asked_for_within_five_minutes() {
        let rk = key();
        let root = cert("Root", &rk, None, true);
        let root_der = root.to_der().unwrap();
        let mut v = Validator::new(None, &[]).unwrap();
        let min = 60 * 1_000_000_000;
        let at =
            |v: &mut Validator, t| v.validate(&[&root_der], &digests(&[&root_der]), t).unwrap();
        assert_eq!(at(&mut v, NOW).as_bytes(), b"self signed certificate");
        // Trusting it now changes nothing while the result is reused: each
        // asking keeps it another five minutes (`&read_expire`).
        v.roots = Roots::from_certs(&[root]);
        v.outcomes.clear();
        for i in 1..=3 {
            let s = at(&mut v, NOW + i * 4 * min);
            assert_eq!(s.as_bytes(), b"self signed certificate");
        }
        // Five minutes without asking: validated again.
        let s = at(&mut v, NOW + 12 * min + 5 * min);
        assert_eq!(s.as_bytes(), b"ok");
    }

    #[test]
    fn outcomes_are_recalled_until_the_time_crosses_a_validity_bound() {
        const SEC: u64 = 1_000_000_000;
        let rk = key();
        let root = cert("Root", &rk, None, true);
        let leaf = cert("a.example", &key(), Some((&root, &rk)), false)
            .to_der()
            .unwrap();
        let mut v = Validator::new(None, &[root.to_der().unwrap()]).unwrap();
        let at = |v: &mut Validator, t| v.validate(&[&leaf], &digests(&[&leaf]), t).unwrap();
        assert_eq!(at(&mut v, NOW).as_bytes(), b"ok");
        // The roots are taken away behind the validator's back (they never
        // change in a run), so an answer of `ok` can only be recalled.
        v.roots = Roots::from_certs(&[]);
        // An hour on, the five-minute result has expired, but no
        // certificate's bound lies between: recalled.
        assert_eq!(at(&mut v, NOW + 3600 * SEC).as_bytes(), b"ok");
        // Shortly before both certificates' notAfter (1.8e9).
        assert_eq!(at(&mut v, 1_799_999_000 * SEC).as_bytes(), b"ok");
        // At notAfter (over five minutes later) OpenSSL calls them
        // expired: verified anew.
        v.roots = Roots::from_certs(std::slice::from_ref(&root));
        assert_eq!(
            at(&mut v, 1_800_000_000 * SEC).as_bytes(),
            b"certificate has expired"
        );
        // A second before notBefore (1.6e9), and at it.
        let mut v = Validator::new(None, &[root.to_der().unwrap()]).unwrap();
        assert_eq!(
            at(&mut v, 1_599_999_699 * SEC).as_bytes(),
            b"certificate is not yet valid"
        );
        assert_eq!(at(&mut v, 1_600_000_000 * SEC).as_bytes(), b"ok");
    }

    #[test]
    fn chain_keys_hold_every_digest_in_order() {
        for n in [1, MAX_CHAIN, MAX_CHAIN + 4] {
            let want: Vec<[u8; 32]> = (0..n).map(|i| [i as u8; 32]).collect();
            assert_eq!(ChainKey::new(want.iter().copied()).digests(), &want[..]);
        }
    }
}
