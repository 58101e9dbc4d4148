//! Syslog outputs: RFC 5424 messages over TCP (RFC 6587 octet counting),
//! TLS (RFC 5425) or UDP (RFC 5426).
//!
//! Each record is one message:
//!
//! ```text
//! <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID - MSG
//! <134>1 2026-12-03T10:00:00.123456Z sensor-1 sensor 4242 conn - {"_path":"conn",...}
//! ```
//!
//! PRI is facility × 8 + severity (`?facility=`, `?severity=`; default
//! local0.info), TIMESTAMP the time the message was sent (UTC), HOSTNAME
//! the sensor's name, MSGID the log's name, no structured data, and MSG the
//! JSON record (always valid UTF-8: the encoder writes bytes that are not as
//! `\xNN` text), without a BOM. Over a stream each message is framed as
//! `LENGTH SP MESSAGE`. Over UDP a message larger than the datagram bound
//! (`?max=`, default 2048 bytes, the size RFC 5426 says every receiver
//! should take) is not sent, never cut: it is counted as dropped, with one
//! warning.

use std::io::Write;
use std::net::{ToSocketAddrs, UdpSocket};

use super::stream::{AckedStream, TlsSettings};
use super::url::{SyslogSpec, SyslogTransport};
use super::{Offer, OutputOptions, Record, Transport};
use crate::calendar::{wall_ns, Civil};

/// The parts of a syslog header that stay the same for an output, and
/// the timestamp of the current second.
#[derive(Clone, Debug)]
pub struct Header {
    /// `<PRI>1 `.
    pri: Vec<u8>,
    /// ` HOSTNAME APP-NAME PROCID `.
    middle: Vec<u8>,
    /// The second the cached timestamp is of, and the cached
    /// `YYYY-MM-DDTHH:MM:SS.` text.
    second: u64,
    stamp: Vec<u8>,
}

impl Header {
    /// The header of `spec`'s messages from host `hostname`.
    pub fn new(spec: &SyslogSpec, hostname: &str) -> Header {
        Header::with_procid(spec, hostname, std::process::id())
    }

    fn with_procid(spec: &SyslogSpec, hostname: &str, procid: u32) -> Header {
        Header {
            pri: format!("<{}>1 ", spec.facility * 8 + spec.severity).into_bytes(),
            middle: format!(" {hostname} {} {procid} ", spec.app).into_bytes(),
            second: u64::MAX,
            stamp: Vec::new(),
        }
    }

    /// Appends the RFC 5424 message of `rec` sent at `now_ns`.
    pub fn message(&mut self, rec: &Record, now_ns: u64, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.pri);
        let us = now_ns / 1000;
        if us / 1_000_000 != self.second {
            self.second = us / 1_000_000;
            self.stamp.clear();
            Civil::from_ns(self.second * 1_000_000_000).write_rfc3339(&mut self.stamp);
            // Keep `YYYY-MM-DDTHH:MM:SS.`: the microseconds follow.
            self.stamp.truncate(self.stamp.len().saturating_sub(7));
        }
        out.extend_from_slice(&self.stamp);
        let _ = write!(out, "{:06}Z", us % 1_000_000);
        out.extend_from_slice(&self.middle);
        let msgid = rec.path().as_bytes();
        let ok = !msgid.is_empty() && msgid.len() <= 32 && msgid.iter().all(u8::is_ascii_graphic);
        out.extend_from_slice(if ok { msgid } else { b"-" });
        out.extend_from_slice(b" - ");
        out.extend_from_slice(rec.msg());
    }

    /// Appends `rec` as an octet-counted frame (RFC 6587).
    pub fn frame(&mut self, rec: &Record, now_ns: u64, scratch: &mut Vec<u8>, out: &mut Vec<u8>) {
        scratch.clear();
        self.message(rec, now_ns, scratch);
        let _ = write!(out, "{} ", scratch.len());
        out.extend_from_slice(scratch);
    }
}

/// The transport of a syslog output.
pub fn transport(spec: &SyslogSpec, opts: &OutputOptions) -> Result<Box<dyn Transport>, String> {
    let header = Header::new(spec, &opts.system_name);
    Ok(match spec.transport {
        SyslogTransport::Udp => Box::new(UdpSyslog {
            spec: spec.clone(),
            header,
            sock: None,
            acks: Vec::new(),
            buf: Vec::new(),
            oversize_reported: false,
        }),
        SyslogTransport::Tcp | SyslogTransport::Tls => {
            let tls = (spec.transport == SyslogTransport::Tls).then(|| TlsSettings {
                ca: spec
                    .ca
                    .as_ref()
                    .map(std::path::PathBuf::from)
                    .or_else(|| opts.ca.clone()),
                name: spec.tls_name.clone().unwrap_or_else(|| spec.host.clone()),
            });
            if let Some(ca) = tls.as_ref().and_then(|t| t.ca.as_ref()) {
                if !ca.is_file() {
                    return Err(format!(
                        "CA bundle {} is not a readable file (pass a PEM file with --ca)",
                        ca.display()
                    ));
                }
            }
            Box::new(StreamSyslog {
                spec: spec.clone(),
                header,
                tls,
                stream: AckedStream::default(),
                scratch: Vec::new(),
            })
        }
    })
}

/// Syslog over TCP or TLS.
struct StreamSyslog {
    spec: SyslogSpec,
    header: Header,
    tls: Option<TlsSettings>,
    stream: AckedStream,
    scratch: Vec<u8>,
}

impl Transport for StreamSyslog {
    fn connect(&mut self) -> Result<(), String> {
        self.stream
            .connect(&self.spec.host, self.spec.port, self.tls.as_ref())
    }

    fn offer(&mut self, n: u64, rec: &Record) -> Result<Offer, String> {
        if !self.stream.has_room() {
            return Ok(Offer::Busy);
        }
        let now = wall_ns();
        let (header, scratch) = (&mut self.header, &mut self.scratch);
        self.stream
            .queue(n, |out| header.frame(rec, now, scratch, out));
        Ok(Offer::Taken)
    }

    fn progress(&mut self, ack: &mut dyn FnMut(u64, bool)) -> Result<bool, String> {
        self.stream.progress(ack)
    }

    fn disconnect(&mut self) {
        self.stream.disconnect();
    }

    fn finish(&mut self, deadline: std::time::Instant, ack: &mut dyn FnMut(u64, bool)) {
        self.stream.finish(deadline, ack);
    }
}

/// Syslog over UDP: one message a datagram, no acknowledgement.
struct UdpSyslog {
    spec: SyslogSpec,
    header: Header,
    sock: Option<UdpSocket>,
    acks: Vec<u64>,
    buf: Vec<u8>,
    oversize_reported: bool,
}

impl Transport for UdpSyslog {
    fn connect(&mut self) -> Result<(), String> {
        let addr = (self.spec.host.as_str(), self.spec.port)
            .to_socket_addrs()
            .map_err(|e| format!("cannot resolve {}: {e}", self.spec.host))?
            .next()
            .ok_or_else(|| format!("{} has no address", self.spec.host))?;
        let local = if addr.is_ipv4() {
            "0.0.0.0:0"
        } else {
            "[::]:0"
        };
        let sock = UdpSocket::bind(local).map_err(|e| format!("cannot open a UDP socket: {e}"))?;
        sock.connect(addr)
            .map_err(|e| format!("cannot address {addr}: {e}"))?;
        self.sock = Some(sock);
        Ok(())
    }

    fn offer(&mut self, n: u64, rec: &Record) -> Result<Offer, String> {
        let Some(sock) = &self.sock else {
            return Err("not connected".into());
        };
        self.buf.clear();
        self.header.message(rec, wall_ns(), &mut self.buf);
        if self.buf.len() > self.spec.max_datagram {
            if !self.oversize_reported {
                self.oversize_reported = true;
                eprintln!(
                    "sensor: warning: output syslog+udp://{}:{}: a {}-byte {} record exceeds the {}-byte datagram bound and is dropped (counted); raise ?max= up to 65507 if the receiver takes it, or use TCP",
                    self.spec.host,
                    self.spec.port,
                    self.buf.len(),
                    rec.path(),
                    self.spec.max_datagram
                );
            }
            return Ok(Offer::Refused);
        }
        // A refused earlier datagram (ICMP port unreachable) fails the next
        // send once; that datagram is sent again.
        let mut r = sock.send(&self.buf);
        if matches!(&r, Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused) {
            r = sock.send(&self.buf);
        }
        match r {
            Ok(_) => {
                self.acks.push(n);
                Ok(Offer::Taken)
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => Ok(Offer::Busy),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                self.acks.push(n);
                Ok(Offer::Taken)
            }
            Err(e) => Err(format!("send failed: {e}")),
        }
    }

    fn progress(&mut self, ack: &mut dyn FnMut(u64, bool)) -> Result<bool, String> {
        let moved = !self.acks.is_empty();
        for n in self.acks.drain(..) {
            ack(n, true);
        }
        Ok(moved)
    }

    fn disconnect(&mut self) {
        self.sock = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc5424_message_and_octet_counting() {
        let spec = match "syslog+tcp://h:514?facility=local5&severity=notice"
            .parse::<super::super::OutputSpec>()
            .unwrap()
            .dest
        {
            super::super::Destination::Syslog(s) => s,
            _ => unreachable!(),
        };
        let mut h = Header::with_procid(&spec, "sensor-1", 77);
        let rec = Record::new("conn", "{\"a\":\"é\"}".as_bytes());
        let (mut scratch, mut out) = (Vec::new(), Vec::new());
        h.frame(&rec, 1_600_000_000_000_000_000, &mut scratch, &mut out);
        let msg = "<173>1 2020-09-13T12:26:40.000000Z sensor-1 sensor 77 conn - {\"a\":\"é\"}";
        let rec2 = Record::new("", b"{}");
        let mut m2 = Vec::new();
        h.message(&rec2, 1_600_000_000_123_456_789, &mut m2);
        assert_eq!(
            String::from_utf8(m2).unwrap(),
            "<173>1 2020-09-13T12:26:40.123456Z sensor-1 sensor 77 - - {}"
        );
        assert_eq!(
            String::from_utf8(out).unwrap(),
            format!("{} {msg}", msg.len())
        );
    }
}
