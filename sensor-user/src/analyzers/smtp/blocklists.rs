//! Zeek's `policy/protocols/smtp/blocklists`: an SMTP error reply that
//! mentions a DNS block list is a notice, `SMTP::Blocklist_Blocked_Host`
//! when the first address in it is the client's own.

use std::net::IpAddr;
use std::sync::OnceLock;

use super::email::ip_addresses;
use crate::logs::notice::NoticeRecord;
use crate::logs::ConnId;

/// The literal alternatives of Zeek's `SMTP::blocklist_error_messages`
/// (its `dyndns\.com\/.*spam` is checked apart).
const LISTS: &[&[u8]] = &[
    b"spamhaus.org/",
    b"sophos.com/security/",
    b"spamcop.net/bl",
    b"cbl.abuseat.org/",
    b"sorbs.net/",
    b"bsn.borderware.com/",
    b"mail-abuse.com/",
    b"b.barracudacentral.com/",
    b"psbl.surriel.com/",
    b"antispam.imp.ch/",
    b"rbl.knology.net/",
    b"intercept.datapacket.net/",
    b"uceprotect.net/",
    b"hostkarma.junkemailfilter.com/",
];

/// Whether a reply text matches Zeek's default pattern.
pub fn mentions_block_list(msg: &[u8]) -> bool {
    use memchr::memmem::{find, Finder};
    // Every alternative holds a `/`: most error texts have none.
    if memchr::memchr(b'/', msg).is_none() {
        return false;
    }
    // The searchers are built once.
    static FINDERS: OnceLock<Vec<Finder<'static>>> = OnceLock::new();
    let finders = FINDERS.get_or_init(|| LISTS.iter().map(Finder::new).collect());
    finders.iter().any(|f| f.find(msg).is_some())
        || find(msg, b"dyndns.com/").is_some_and(|i| find(&msg[i + 11..], b"spam").is_some())
}

/// `smtp_reply` of the script: the notice for reply `code` with text
/// `msg` on connection `id`, if any; `listed` says whether the text
/// matches `SMTP::blocklist_error_messages`.
pub fn reply(
    ts: u64,
    id: ConnId,
    code: u16,
    msg: &[u8],
    listed: impl FnOnce(&[u8]) -> bool,
) -> Option<NoticeRecord> {
    if code < 400 || code == 421 || !listed(msg) {
        return None;
    }
    let mut first = None;
    ip_addresses(msg, false, &mut |ip| {
        first.get_or_insert(ip);
    });
    let blocked = first.is_some_and(|ip: IpAddr| ip == id.orig_h);
    let (note, tail): (&'static str, &[u8]) = if blocked {
        ("SMTP::Blocklist_Blocked_Host", b" is on an SMTP block list")
    } else {
        (
            "SMTP::Blocklist_Error_Message",
            b" received an error message mentioning an SMTP block list",
        )
    };
    let host = id.orig_h.to_string();
    let mut text = Vec::with_capacity(host.len() + tail.len());
    text.extend_from_slice(host.as_bytes());
    text.extend_from_slice(tail);
    let mut n = NoticeRecord::about(ts, id, note, &text);
    n.sub = Some(crate::inline_str::InlineStr::from_bytes(msg));
    Some(n.identified_by(&[host.as_bytes()]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::uid::Uid;

    fn id() -> ConnId {
        ConnId {
            uid: Uid {
                prefix: b'C',
                value: 3,
            },
            orig_h: "192.0.2.7".parse().unwrap(),
            orig_p: 40000,
            resp_h: "198.51.100.1".parse().unwrap(),
            resp_p: 25,
        }
    }

    #[test]
    fn block_list_replies_are_notices() {
        let own = b"Service unavailable; Client host [192.0.2.7] blocked using zen.spamhaus.org; https://www.spamhaus.org/query/ip/192.0.2.7";
        let n = reply(1, id(), 554, own, mentions_block_list).unwrap();
        assert_eq!(n.note, "SMTP::Blocklist_Blocked_Host");
        assert_eq!(n.msg.as_bytes(), b"192.0.2.7 is on an SMTP block list");
        let other = b"rejected, see http://www.spamcop.net/bl.shtml?203.0.113.9";
        let n = reply(1, id(), 550, other, mentions_block_list).unwrap();
        assert_eq!(n.note, "SMTP::Blocklist_Error_Message");
        assert!(
            reply(1, id(), 421, own, mentions_block_list).is_none(),
            "421 is left out"
        );
        assert!(reply(1, id(), 250, own, mentions_block_list).is_none());
        assert!(reply(1, id(), 550, b"mailbox unavailable", mentions_block_list).is_none());
        assert!(reply(
            1,
            id(),
            550,
            b"see members.dyndns.com/x/spam-policy",
            mentions_block_list
        )
        .is_some());
    }

    #[test]
    fn every_alternative_holds_the_slash_the_search_starts_from() {
        assert!(LISTS.iter().all(|l| l.contains(&b'/')));
        assert!(!mentions_block_list(b"blocked using zen.spamhaus.org"));
    }

    #[test]
    fn the_default_pattern_as_zeek_writes_it_matches_as_the_literals() {
        // A site's redef is matched as a Zeek pattern; Zeek's own default,
        // written out, agrees with the sensor's literal alternatives.
        let zeek = r"/spamhaus\.org\// | /sophos\.com\/security\// | /spamcop\.net\/bl/
            | /cbl\.abuseat\.org\// | /sorbs\.net\// | /bsn\.borderware\.com\//
            | /mail-abuse\.com\// | /b\.barracudacentral\.com\// | /psbl\.surriel\.com\//
            | /antispam\.imp\.ch\// | /dyndns\.com\/.*spam/ | /rbl\.knology\.net\//
            | /intercept\.datapacket\.net\// | /uceprotect\.net\// | /hostkarma\.junkemailfilter\.com\//";
        let p = crate::zeek_pattern::Pattern::parse_zeek(zeek).unwrap();
        for msg in [
            &b"blocked using zen.spamhaus.org/query"[..],
            b"see members.dyndns.com/x/spam-policy",
            b"see members.dyndns.com/x/ham-policy",
            b"mailbox unavailable",
            b"http://www.spamcop.net/bl.shtml",
        ] {
            assert_eq!(p.is_match(msg), mentions_block_list(msg), "{msg:?}");
        }
        let own =
            crate::zeek_pattern::Pattern::parse_zeek(r"/blocked by [a-z]+\.example/").unwrap();
        let n = reply(1, id(), 554, b"550 blocked by rbl.example list", |m| {
            own.is_match(m)
        });
        assert_eq!(n.unwrap().note, "SMTP::Blocklist_Error_Message");
    }
}
