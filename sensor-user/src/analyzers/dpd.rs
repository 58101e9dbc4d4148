//! Dynamic protocol detection: which analyzers run on a connection.
//!
//! As in Zeek, an analyzer is attached either by the responder port when the
//! connection starts, or by content signatures matched stream-wise over the
//! first [`DPD_BUFFER`] bytes (both directions together, at most
//! [`DPD_MAX_CHUNKS`] chunks). Zeek replays its buffer into an analyzer a
//! signature enables; here every candidate analyzer runs speculatively from
//! the first byte and keeps what it would have reported until the signature
//! fires, which gives the same result without a replay buffer. Candidates
//! no signature picked are dropped when the window closes.
//!
//! Signatures (Zeek's `dpd.sig`):
//! - SMTP: client line starting with `HELO`/`EHLO`, and server stream
//!   starting with `220` followed by space or `-`.
//! - POP3: server stream starting with `+OK`, and a client line starting
//!   with `USER `, `APOP `, `CAPA`, `AUTH` or `STLS`.
//! - SSL: a ClientHello at the start of the client stream, or a ServerHello
//!   (optionally after an alert) at the start of the server stream.

use super::imap::Imap;
use super::pop3::{Pop3, Pop3Limits};
use super::smtp::Smtp;
use super::tls::Tls;
use super::{Events, Next, Service};
use crate::inline_str::InlineStr;

/// Bytes of payload (both directions) signatures look at.
pub const DPD_BUFFER: u32 = 1024;
/// Chunks signatures look at.
pub const DPD_MAX_CHUNKS: u32 = 100;

/// Ports whose analyzers are attached when a TCP connection starts
/// (Zeek's `register_for_ports` of its SMTP, IMAP and SSL scripts).
pub fn port_services(resp_port: u16) -> Option<Service> {
    match resp_port {
        25 | 587 => Some(Service::Smtp),
        143 => Some(Service::Imap),
        443 | 465 | 563 | 585 | 614 | 636 | 989 | 990 | 992 | 993 | 995 | 5223 => {
            Some(Service::Ssl)
        }
        _ => None,
    }
}

const SMTP_CLIENT: u8 = 1;
const SMTP_SERVER: u8 = 2;
const POP3_SERVER: u8 = 4;
const POP3_CLIENT: u8 = 8;

/// Per-direction signature state.
#[derive(Clone, Copy, Debug, Default)]
struct DirSig {
    head: [u8; 16],
    have: u8,
    /// Collecting the start of the current line (after leading spaces).
    tok: [u8; 5],
    ntok: u8,
    mid_line: bool,
}

impl DirSig {
    fn feed(&mut self, data: &[u8], on_line_start: &mut dyn FnMut(&[u8])) {
        let n = (16 - self.have as usize).min(data.len());
        self.head[self.have as usize..self.have as usize + n].copy_from_slice(&data[..n]);
        self.have += n as u8;
        for &b in data {
            if b == b'\n' || b == b'\r' {
                if self.ntok > 0 {
                    on_line_start(&self.tok[..self.ntok as usize]);
                }
                self.ntok = 0;
                self.mid_line = false;
                continue;
            }
            if self.mid_line {
                continue;
            }
            if self.ntok == 0 && (b == b' ' || b == b'\t' || b == 0x0b || b == 0x0c) {
                continue;
            }
            self.tok[self.ntok as usize] = b;
            self.ntok += 1;
            if self.ntok as usize == self.tok.len() {
                on_line_start(&self.tok);
                self.ntok = 0;
                self.mid_line = true;
            }
        }
    }

    fn head(&self) -> &[u8] {
        &self.head[..self.have as usize]
    }
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

/// The signature engine of one connection.
#[derive(Clone, Copy, Debug, Default)]
pub struct Detector {
    dir: [DirSig; 2],
    bytes: u32,
    chunks: u32,
    closed: bool,
    matched: u8,
    fired: [bool; 3],
}

impl Detector {
    /// Whether signatures are still looked for.
    pub fn open(&self) -> bool {
        !self.closed
    }

    /// Feeds a chunk; returns the services whose signatures fired now.
    pub fn feed(&mut self, is_orig: bool, data: &[u8]) -> [Option<Service>; 3] {
        let mut out = [None; 3];
        if self.closed {
            return out;
        }
        let i = if is_orig { 0 } else { 1 };
        let mut bits = 0u8;
        self.dir[i].feed(data, &mut |tok: &[u8]| {
            if !is_orig {
                return;
            }
            let up = |n: usize| tok.len() >= n;
            if up(4)
                && (tok[..4].eq_ignore_ascii_case(b"HELO")
                    || tok[..4].eq_ignore_ascii_case(b"EHLO"))
            {
                bits |= SMTP_CLIENT;
            }
            let word_sp = up(5) && is_space(tok[4]);
            if (word_sp
                && (tok[..4].eq_ignore_ascii_case(b"USER")
                    || tok[..4].eq_ignore_ascii_case(b"APOP")))
                || (up(4)
                    && (tok[..4].eq_ignore_ascii_case(b"CAPA")
                        || tok[..4].eq_ignore_ascii_case(b"AUTH")
                        || tok[..4].eq_ignore_ascii_case(b"STLS")))
            {
                bits |= POP3_CLIENT;
            }
        });
        let head = self.dir[i].head();
        if !is_orig {
            let t = trim_space(head);
            if t.len() >= 4 && &t[..3] == b"220" && (t[3] == b'-' || is_space(t[3])) {
                bits |= SMTP_SERVER;
            }
            if head.starts_with(b"+OK") {
                bits |= POP3_SERVER;
            }
        }
        self.matched |= bits;
        if !self.fired[0] && self.matched & (SMTP_CLIENT | SMTP_SERVER) == SMTP_CLIENT | SMTP_SERVER
        {
            self.fired[0] = true;
            out[0] = Some(Service::Smtp);
        }
        if !self.fired[1] && self.matched & (POP3_CLIENT | POP3_SERVER) == POP3_CLIENT | POP3_SERVER
        {
            self.fired[1] = true;
            out[1] = Some(Service::Pop3);
        }
        if !self.fired[2] && tls_signature(is_orig, head) {
            self.fired[2] = true;
            out[2] = Some(Service::Ssl);
        }
        self.bytes += data.len() as u32;
        self.chunks += 1;
        if self.bytes > DPD_BUFFER || self.chunks > DPD_MAX_CHUNKS {
            self.closed = true;
        }
        out
    }
}

fn trim_space(mut b: &[u8]) -> &[u8] {
    while let Some((&c, rest)) = b.split_first() {
        if !is_space(c) {
            break;
        }
        b = rest;
    }
    b
}

/// Zeek's `dpd_tls_client` / `dpd_tls_server` patterns on a stream head.
fn tls_signature(is_orig: bool, h: &[u8]) -> bool {
    let v03 = |b: u8| b <= 3;
    if is_orig {
        h.len() >= 11
            && h[0] == 0x16
            && h[1] == 3
            && v03(h[2])
            && h[5] == 1
            && h[9] == 3
            && v03(h[10])
    } else {
        let h = if h.len() >= 7 && h[0] == 0x15 && h[1] == 3 && v03(h[2]) {
            &h[7..]
        } else {
            h
        };
        h.len() >= 11
            && h[0] == 0x16
            && h[1] == 3
            && v03(h[2])
            && h[5] == 2
            && ((h[9] == 3 && h[10] <= 4) || (h[9] == 0x7f && h[10] <= 0x50))
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum SlotState {
    /// Running before any signature picked it; reports are held back.
    #[default]
    Speculative,
    /// Picked (by port, signature or STARTTLS); reports go out.
    Attached,
    /// Not running.
    Off,
}

/// Reports an analyzer made while speculative.
#[derive(Clone, Copy, Debug, Default)]
struct Held {
    confirm: bool,
    violation: bool,
    weirds: [Option<(&'static str, InlineStr<32>, Option<&'static str>)>; 4],
}

impl Events for Held {
    fn confirm(&mut self, _: Service) {
        self.confirm = true;
    }
    fn violation(&mut self, _: Service) {
        self.violation = true;
    }
    fn weird(&mut self, name: &'static str, addl: &[u8], source: Option<&'static str>) {
        if let Some(slot) = self
            .weirds
            .iter_mut()
            .find(|w| w.is_none_or(|(n, _, _)| n == name))
        {
            if slot.is_none() {
                *slot = Some((name, InlineStr::from_bytes(addl), source));
            }
        }
    }
}

#[derive(Clone, Copy, Debug, Default)]
struct Slot<A> {
    a: A,
    state: SlotState,
    held: Held,
}

impl<A: Default> Slot<A> {
    fn attach(&mut self, s: Service, ev: &mut dyn Events) {
        if self.state == SlotState::Attached {
            return;
        }
        let held = std::mem::take(&mut self.held);
        for (name, addl, source) in held.weirds.iter().flatten() {
            ev.weird(name, addl.as_bytes(), *source);
        }
        if held.confirm {
            ev.confirm(s);
        }
        if held.violation {
            ev.violation(s);
            self.state = SlotState::Off;
        } else {
            self.state = SlotState::Attached;
        }
    }

    fn off(&mut self) {
        self.state = SlotState::Off;
    }

    fn restart_attached(&mut self) {
        self.a = A::default();
        self.held = Held::default();
        self.state = SlotState::Attached;
    }
}

/// The application-layer state of one TCP connection: the detector and one
/// slot per analyzer.
#[derive(Clone, Copy, Debug, Default)]
pub struct AppState {
    det: Detector,
    smtp: Slot<Smtp>,
    pop3: Slot<Pop3>,
    imap: Slot<Imap>,
    tls: Slot<Tls>,
}

/// Forwards an attached analyzer's reports, disabling it on violation.
struct Live<'a> {
    ev: &'a mut dyn Events,
    violated: bool,
}

impl Events for Live<'_> {
    fn confirm(&mut self, s: Service) {
        self.ev.confirm(s);
    }
    fn violation(&mut self, s: Service) {
        self.violated = true;
        self.ev.violation(s);
    }
    fn weird(&mut self, name: &'static str, addl: &[u8], source: Option<&'static str>) {
        self.ev.weird(name, addl, source);
    }
}

macro_rules! run_slot {
    ($slot:expr, $is_orig:expr, $data:expr, $ev:expr) => {{
        match $slot.state {
            SlotState::Off => Next::Stop,
            SlotState::Speculative => {
                let n = $slot.a.deliver($is_orig, $data, &mut $slot.held);
                if $slot.held.violation {
                    $slot.off();
                }
                n
            }
            SlotState::Attached => {
                let mut live = Live {
                    ev: $ev,
                    violated: false,
                };
                let n = $slot.a.deliver($is_orig, $data, &mut live);
                if live.violated {
                    $slot.off();
                }
                n
            }
        }
    }};
}

impl AppState {
    /// State for a new TCP connection to `resp_port`; `analyze` false gives
    /// a connection whose payload is not analysed.
    pub fn new(resp_port: u16, analyze: bool, pop3: Pop3Limits) -> Self {
        let mut st = AppState::default();
        st.pop3.a = Pop3::new(pop3);
        if !analyze {
            st.det.closed = true;
            st.smtp.off();
            st.pop3.off();
            st.imap.off();
            st.tls.off();
            return st;
        }
        match port_services(resp_port) {
            Some(Service::Smtp) => st.smtp.state = SlotState::Attached,
            Some(Service::Imap) => st.imap.state = SlotState::Attached,
            Some(Service::Ssl) => st.tls.state = SlotState::Attached,
            _ => {}
        }
        // IMAP has no signature: only its port attaches it.
        if st.imap.state != SlotState::Attached {
            st.imap.off();
        }
        st
    }

    /// Whether any analyzer still wants payload.
    pub fn wants_payload(&self) -> bool {
        self.det.open()
            || [
                self.smtp.state,
                self.pop3.state,
                self.imap.state,
                self.tls.state,
            ]
            .contains(&SlotState::Attached)
    }

    /// Feeds in-order payload of one direction.
    pub fn deliver(&mut self, is_orig: bool, data: &[u8], ev: &mut dyn Events) {
        if !self.wants_payload() {
            return;
        }
        let fired = self.det.feed(is_orig, data);
        let mut starttls = false;
        match run_slot!(self.smtp, is_orig, data, ev) {
            Next::StartTls => starttls = true,
            Next::Stop => self.smtp.off(),
            Next::Continue => {}
        }
        match run_slot!(self.pop3, is_orig, data, ev) {
            Next::StartTls => starttls = true,
            Next::Stop => self.pop3.off(),
            Next::Continue => {}
        }
        match run_slot!(self.imap, is_orig, data, ev) {
            Next::StartTls => starttls = true,
            Next::Stop => self.imap.off(),
            Next::Continue => {}
        }
        if let Next::Stop = run_slot!(self.tls, is_orig, data, ev) {
            if self.tls.state == SlotState::Attached {
                // Handshake recognised; the TLS analyzer has nothing more to do.
                self.tls.state = SlotState::Off;
            }
        }
        for s in fired.into_iter().flatten() {
            match s {
                Service::Smtp => self.smtp.attach(s, ev),
                Service::Pop3 => self.pop3.attach(s, ev),
                Service::Ssl => self.tls.attach(s, ev),
                Service::Imap => self.imap.attach(s, ev),
            }
        }
        if starttls {
            self.smtp.off();
            self.pop3.off();
            self.imap.off();
            self.tls.restart_attached();
        }
        if !self.det.open() {
            for st in [
                &mut self.smtp.state,
                &mut self.pop3.state,
                &mut self.imap.state,
                &mut self.tls.state,
            ] {
                if *st == SlotState::Speculative {
                    *st = SlotState::Off;
                }
            }
        }
    }

    /// Whether the stream is known to be TLS (by port, signature or
    /// STARTTLS) and the full TLS analyzer should run.
    pub fn tls_attached(&self) -> bool {
        self.tls.state == SlotState::Attached
    }

    /// The stream is known to be TLS: analyzers only guessing at it
    /// (speculative slots) and the signature detector stop.
    pub fn speculation_off(&mut self) {
        for st in [
            &mut self.smtp.state,
            &mut self.pop3.state,
            &mut self.imap.state,
        ] {
            if *st == SlotState::Speculative {
                *st = SlotState::Off;
            }
        }
        self.det.closed = true;
    }

    /// The full TLS analyzer is done with the stream (established or not
    /// TLS): stop every recognizer and the signature detector.
    pub fn tls_off(&mut self) {
        self.tls.off();
        self.smtp.off();
        self.pop3.off();
        self.imap.off();
        self.det.closed = true;
    }

    /// STARTTLS succeeded in a session analysed outside this state: from
    /// now on the stream is TLS.
    pub fn start_tls(&mut self) {
        self.smtp.off();
        self.pop3.off();
        self.imap.off();
        self.tls.restart_attached();
        self.det.closed = true;
    }

    /// A content gap in one direction.
    pub fn gap(&mut self, is_orig: bool) {
        self.smtp.a.gap(is_orig);
        self.pop3.a.gap(is_orig);
        if self.imap.a.gap() == Next::Stop {
            self.imap.off();
        }
        // Signatures cannot match across a hole.
        self.det.closed = true;
    }

    /// Swaps per-direction state when the connection's roles flip.
    pub fn flip(&mut self) {
        self.det.dir.swap(0, 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyzers::tests::Recorder;

    #[test]
    fn pop3_found_by_signature_on_any_port() {
        let mut app = AppState::new(40000, true, Pop3Limits::default());
        let mut ev = Recorder::default();
        app.deliver(false, b"+OK ready\r\n", &mut ev);
        app.deliver(true, b"USER joe\r\n", &mut ev);
        assert!(ev.confirmed.is_empty());
        app.deliver(false, b"+OK\r\n", &mut ev);
        assert_eq!(ev.confirmed, vec![Service::Pop3]);
    }

    #[test]
    fn smtp_by_port_then_starttls() {
        let mut app = AppState::new(25, true, Pop3Limits::default());
        let mut ev = Recorder::default();
        app.deliver(false, b"220 mx\r\n", &mut ev);
        app.deliver(true, b"EHLO x\r\n", &mut ev);
        app.deliver(false, b"250 STARTTLS\r\n", &mut ev);
        app.deliver(true, b"STARTTLS\r\n", &mut ev);
        app.deliver(false, b"220 ready\r\n", &mut ev);
        app.deliver(
            true,
            &[0x16, 3, 1, 0, 200, 1, 0, 0, 196, 3, 3, 0, 0],
            &mut ev,
        );
        assert_eq!(ev.confirmed, vec![Service::Smtp, Service::Ssl]);
    }

    #[test]
    fn unpicked_candidates_report_nothing() {
        let mut app = AppState::new(6379, true, Pop3Limits::default());
        let mut ev = Recorder::default();
        app.deliver(true, b"*1\r\n$4\r\nPING\r\n", &mut ev);
        app.deliver(false, b"+PONG\r\n", &mut ev);
        assert!(ev.weirds.is_empty() && ev.confirmed.is_empty());
    }
}
