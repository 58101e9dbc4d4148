//! Application-layer analyzers and the protocol detection that picks them.
//!
//! Each protocol has its own folder. An analyzer consumes the in-order byte
//! chunks reassembly hands it, per direction, and reports what it found
//! through [`Events`]: protocol confirmations (which fill conn.log
//! `service`), violations, weirds, and a STARTTLS hand-over. Which analyzers
//! run on a connection is decided in [`dpd`], as Zeek does: by the
//! responder port and by content signatures over the first bytes.

pub mod dpd;
pub mod imap;

pub mod line;
pub mod mime;
pub mod pool;
pub mod pop3;
pub mod replay;
pub mod sasl;
pub mod smtp;
pub mod tls;

/// Most file uids one mail record lists (pop3.log, imap.log `fuids`).
pub const MAX_LOGGED_FUIDS: usize = 1000;

/// A connection's POP3 or IMAP session: its slot in the worker's pool.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MailboxSlot {
    /// A POP3 session.
    Pop3(u32),
    /// An IMAP session.
    Imap(u32),
}

/// A protocol the sensor recognises.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Service {
    /// SMTP.
    Smtp,
    /// POP3.
    Pop3,
    /// IMAP.
    Imap,
    /// SSL/TLS.
    Ssl,
}

impl Service {
    /// The name conn.log's `service` uses.
    pub fn name(self) -> &'static str {
        match self {
            Service::Smtp => "smtp",
            Service::Pop3 => "pop3",
            Service::Imap => "imap",
            Service::Ssl => "ssl",
        }
    }

    /// The analyzer name used as weird.log `source`.
    pub fn analyzer_name(self) -> &'static str {
        match self {
            Service::Smtp => "SMTP",
            Service::Pop3 => "POP3",
            Service::Imap => "IMAP",
            Service::Ssl => "SSL",
        }
    }
}

/// Confirmed services of a connection, in confirmation order.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ServiceSet {
    items: [Option<Service>; 4],
}

impl ServiceSet {
    /// Adds `s` if not present.
    pub fn add(&mut self, s: Service) {
        if self.contains(s) {
            return;
        }
        if let Some(slot) = self.items.iter_mut().find(|x| x.is_none()) {
            *slot = Some(s);
        }
    }

    /// Removes `s`, keeping the order of the rest.
    pub fn remove(&mut self, s: Service) {
        let mut kept = [None; 4];
        for (n, x) in self.items.iter().flatten().filter(|x| **x != s).enumerate() {
            kept[n] = Some(*x);
        }
        self.items = kept;
    }

    /// Whether `s` is present.
    pub fn contains(&self, s: Service) -> bool {
        self.items.contains(&Some(s))
    }

    /// Services in order.
    pub fn iter(&self) -> impl Iterator<Item = Service> + '_ {
        self.items.iter().flatten().copied()
    }

    /// Whether no service was confirmed.
    pub fn is_empty(&self) -> bool {
        self.items[0].is_none()
    }
}

/// Where analyzers report.
pub trait Events {
    /// The analyzer is sure the traffic is its protocol.
    fn confirm(&mut self, s: Service);
    /// The traffic broke the protocol; Zeek disables the analyzer.
    fn violation(&mut self, s: Service);
    /// A protocol anomaly for weird.log (`source` is the analyzer).
    fn weird(&mut self, name: &'static str, addl: &[u8], source: Option<&'static str>);
}

/// What an analyzer asks of the connection after a chunk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Next {
    /// Keep feeding this analyzer.
    Continue,
    /// STARTTLS succeeded: feed everything from now on to a TLS analyzer.
    StartTls,
    /// Stop feeding this analyzer (done or gave up).
    Stop,
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Records analyzer reports for tests.
    #[derive(Default)]
    pub(crate) struct Recorder {
        pub confirmed: Vec<Service>,
        pub violations: Vec<Service>,
        pub weirds: Vec<&'static str>,
    }

    impl Events for Recorder {
        fn confirm(&mut self, s: Service) {
            self.confirmed.push(s);
        }
        fn violation(&mut self, s: Service) {
            self.violations.push(s);
        }
        fn weird(&mut self, name: &'static str, _: &[u8], _: Option<&'static str>) {
            self.weirds.push(name);
        }
    }

    #[test]
    fn service_set_keeps_order() {
        let mut s = ServiceSet::default();
        s.add(Service::Imap);
        s.add(Service::Ssl);
        s.add(Service::Imap);
        assert_eq!(
            s.iter().collect::<Vec<_>>(),
            vec![Service::Imap, Service::Ssl]
        );
        s.remove(Service::Imap);
        assert_eq!(s.iter().collect::<Vec<_>>(), vec![Service::Ssl]);
    }
}
