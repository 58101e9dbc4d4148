//! Decoding arbitrary frames of every link type never panics, IP
//! fragments of arbitrary content reassemble within bounds, and the tunnel
//! headers (GRE, VXLAN, Geneve, Teredo, AYIYA, GTPv1, IP in IP) of any IP
//! or UDP payload parse.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sensor::decode::fragments::{FragOutcome, Reassembler};
use sensor::decode::{
    ayiya, decode_frame, decode_geneve_payload, decode_transport, geneve, gre, gtpv1, iptunnel,
    teredo, vxlan, DecodeOptions, LinkType,
};

/// The tunnel analyzers on `payload`, and the packets they carry.
fn tunnels(payload: &[u8], opts: &DecodeOptions) {
    match gre::parse(payload) {
        Ok(gre::Payload::Frame { link, data }) => {
            let _ = decode_frame(link, data, data.len() as u32, opts);
        }
        Ok(gre::Payload::Ip { proto, data }) => {
            if iptunnel::check_inner(proto, data).is_ok() {
                let _ = decode_frame(LinkType::RAW, data, data.len() as u32, opts);
            }
        }
        Err(_) => {}
    }
    if let Ok((_, inner)) = vxlan::parse(payload) {
        let _ = decode_frame(LinkType::ETHERNET, inner, inner.len() as u32, opts);
    }
    if let Ok(p) = geneve::parse(payload) {
        let _ = decode_geneve_payload(p.protocol, p.inner, p.inner.len(), opts);
    }
    let _ = teredo::detect(payload) || ayiya::detect(payload);
    if let Ok(p) = teredo::parse(payload) {
        let _ = iptunnel::check_inner(41, p.inner);
        let _ = decode_frame(LinkType::RAW, p.inner, p.inner.len() as u32, opts);
    }
    if let Ok(ayiya::Payload::Forward { inner, .. }) = ayiya::parse(payload) {
        let _ = decode_frame(LinkType::RAW, inner, inner.len() as u32, opts);
    }
    match gtpv1::parse(payload) {
        Ok(m) if m.header.msg_type == gtpv1::G_PDU => {
            let _ = decode_frame(LinkType::RAW, m.body, m.body.len() as u32, opts);
        }
        Ok(_) => {}
        Err(e) => {
            let _ = e.reason();
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&sel, frame)) = data.split_first() else {
        return;
    };
    let links = [
        0u32, 1, 9, 10, 12, 50, 101, 105, 108, 113, 127, 228, 239, 276,
    ];
    let link = LinkType(links[sel as usize % links.len()]);
    let opts = DecodeOptions {
        verify_checksums: sel & 0x80 != 0,
    };
    let mut frags = Reassembler::new(4, 1_000_000_000);
    let mut decoded = decode_frame(link, frame, frame.len() as u32, &opts);
    loop {
        if let Ok(ip) = decoded.ip {
            let _ = decode_transport(&ip, &opts);
            tunnels(ip.payload, &opts);
            tunnels(ip.payload.get(8..).unwrap_or_default(), &opts);
            if let Some(f) = ip.fragment {
                if let FragOutcome::Complete(whole) = frags.add(&ip, f, 0, &mut |_| {}) {
                    let _ = decode_transport(&whole, &opts);
                }
            }
        }
        // An 802.11 A-MSDU's later subframes.
        let Some(more) = decoded.more else {
            break;
        };
        decoded = more.decode(&opts);
    }
});
