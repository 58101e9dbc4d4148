//! A byte stream to a destination (TCP, or TLS over TCP) that the output
//! thread writes without blocking, with each record's acknowledgement
//! taken from the TCP layer.
//!
//! A record counts as delivered once the peer's TCP has acknowledged its
//! last byte (bytes handed to the kernel minus those still in the socket's
//! send queue, `SIOCOUTQ`) and the connection then stayed up for
//! [`SETTLE`]: a receiver killed with data unread in its socket buffer
//! (rsyslog drops it on SIGTERM) loses only records of that last moment,
//! and those are sent again after the reconnect. At the end of a run the
//! stream is half-closed and the peer's close awaited, which means it read
//! everything.

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use openssl::ssl::{ErrorCode, SslConnector, SslMethod, SslMode, SslStream, SslVerifyMode};

/// How long a connection must stay up after a record's TCP acknowledgement
/// before the record counts as delivered.
pub const SETTLE: Duration = Duration::from_millis(1500);

/// Bytes written but not yet handed to the kernel before offers are
/// refused as busy.
const OUT_LIMIT: usize = 1 << 20;

/// How long connecting (and a TLS handshake) may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// TLS settings of a stream.
pub struct TlsSettings {
    /// CA bundle (PEM) the server's certificate must chain to; none: the
    /// system's roots.
    pub ca: Option<std::path::PathBuf>,
    /// Name the certificate must carry.
    pub name: String,
}

/// A TCP socket that counts the bytes written to it (under TLS, the
/// encrypted bytes).
struct Counted {
    sock: TcpStream,
    written: u64,
}

impl Read for Counted {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.sock.read(buf)
    }
}

impl Write for Counted {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.sock.write(buf)?;
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.sock.flush()
    }
}

enum Conn {
    Tcp(Counted),
    Tls(Box<SslStream<Counted>>),
}

impl Conn {
    fn counted(&self) -> &Counted {
        match self {
            Conn::Tcp(c) => c,
            Conn::Tls(s) => s.get_ref(),
        }
    }

    /// Writes some of `buf`: `Ok(0)` when the kernel takes nothing now.
    fn write_some(&mut self, buf: &[u8]) -> io::Result<usize> {
        let r = match self {
            Conn::Tcp(c) => c.write(buf),
            Conn::Tls(s) => s.ssl_write(buf).map_err(|e| match e.code() {
                ErrorCode::WANT_WRITE | ErrorCode::WANT_READ => {
                    io::Error::from(io::ErrorKind::WouldBlock)
                }
                _ => e
                    .into_io_error()
                    .unwrap_or_else(|e| io::Error::other(e.to_string())),
            }),
        };
        match r {
            Ok(0) => Err(io::Error::from(io::ErrorKind::WriteZero)),
            Ok(n) => Ok(n),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(0),
            Err(e) => Err(e),
        }
    }

    /// Reads and discards what the peer sent; an error when it closed.
    fn check_open(&mut self, buf: &mut [u8]) -> io::Result<()> {
        loop {
            let r = match self {
                Conn::Tcp(c) => c.read(buf),
                Conn::Tls(s) => s.ssl_read(buf).map_err(|e| match e.code() {
                    ErrorCode::WANT_READ | ErrorCode::WANT_WRITE => {
                        io::Error::from(io::ErrorKind::WouldBlock)
                    }
                    ErrorCode::ZERO_RETURN => io::Error::from(io::ErrorKind::UnexpectedEof),
                    // A close without close_notify (rsyslog's way) is an
                    // end of stream too.
                    _ => e.into_io_error().unwrap_or_else(|e| {
                        io::Error::new(io::ErrorKind::UnexpectedEof, e.to_string())
                    }),
                }),
            };
            match r {
                Ok(0) => {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "closed by the peer",
                    ))
                }
                Ok(_) => continue,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) => return Err(e),
            }
        }
    }
}

/// A non-blocking stream with per-record acknowledgements.
pub struct AckedStream {
    conn: Option<Conn>,
    out: Vec<u8>,
    out_pos: usize,
    /// Bytes of plaintext handed to `conn` so far (the stream offset of
    /// `out[out_pos]`).
    plain_written: u64,
    /// Records with the plaintext offset after their last byte.
    unwritten: VecDeque<(u64, u64)>,
    /// Records fully written, with the raw (socket) offset after them.
    inflight: VecDeque<(u64, u64)>,
    /// Records the peer's TCP acknowledged, with when.
    settling: VecDeque<(u64, Instant)>,
    scratch: Vec<u8>,
}

impl Default for AckedStream {
    fn default() -> Self {
        AckedStream {
            conn: None,
            out: Vec::with_capacity(OUT_LIMIT + (64 << 10)),
            out_pos: 0,
            plain_written: 0,
            unwritten: VecDeque::new(),
            inflight: VecDeque::new(),
            settling: VecDeque::new(),
            scratch: vec![0u8; 4096],
        }
    }
}

impl AckedStream {
    /// Connects to `host:port` (TLS when `tls` is given), dropping whatever
    /// an earlier connection had not delivered (the queue sends it again).
    pub fn connect(
        &mut self,
        host: &str,
        port: u16,
        tls: Option<&TlsSettings>,
    ) -> Result<(), String> {
        self.disconnect();
        let sock = connect_tcp(host, port)?;
        let counted = Counted { sock, written: 0 };
        let conn = match tls {
            None => Conn::Tcp(counted),
            Some(t) => Conn::Tls(Box::new(tls_handshake(counted, t)?)),
        };
        conn.counted()
            .sock
            .set_nonblocking(true)
            .map_err(|e| format!("cannot configure the socket: {e}"))?;
        self.conn = Some(conn);
        Ok(())
    }

    /// Drops the connection and everything not yet acknowledged.
    pub fn disconnect(&mut self) {
        self.conn = None;
        self.out.clear();
        self.out_pos = 0;
        self.plain_written = 0;
        self.unwritten.clear();
        self.inflight.clear();
        self.settling.clear();
    }

    /// Whether `len` more bytes may be queued now.
    pub fn has_room(&self) -> bool {
        self.out.len() - self.out_pos < OUT_LIMIT
    }

    /// Queues the bytes of record `n`, which `write` appends to the buffer.
    pub fn queue(&mut self, n: u64, write: impl FnOnce(&mut Vec<u8>)) {
        write(&mut self.out);
        let end = self.plain_written + (self.out.len() - self.out_pos) as u64;
        self.unwritten.push_back((n, end));
    }

    /// Writes what the kernel takes, checks the peer is still there and
    /// reports the records that settled. Returns whether anything moved.
    pub fn progress(&mut self, ack: &mut dyn FnMut(u64, bool)) -> Result<bool, String> {
        let Some(conn) = self.conn.as_mut() else {
            return Err("not connected".into());
        };
        let mut moved = false;
        while self.out_pos < self.out.len() {
            let n = conn
                .write_some(&self.out[self.out_pos..])
                .map_err(|e| format!("write failed: {e}"))?;
            if n == 0 {
                break;
            }
            moved = true;
            self.out_pos += n;
            self.plain_written += n as u64;
        }
        if self.out_pos == self.out.len() {
            self.out.clear();
            self.out_pos = 0;
        } else if self.out_pos > OUT_LIMIT / 2 {
            self.out.drain(..self.out_pos);
            self.out_pos = 0;
        }
        let raw = conn.counted().written;
        while let Some(&(n, end)) = self.unwritten.front() {
            if end > self.plain_written {
                break;
            }
            self.unwritten.pop_front();
            self.inflight.push_back((n, raw));
        }
        conn.check_open(&mut self.scratch)
            .map_err(|e| format!("connection lost: {e}"))?;
        if self.inflight.is_empty() && self.settling.is_empty() {
            return Ok(moved);
        }
        let acked = raw.saturating_sub(unacked_bytes(&conn.counted().sock));
        let now = Instant::now();
        while let Some(&(n, end)) = self.inflight.front() {
            if end > acked {
                break;
            }
            self.inflight.pop_front();
            self.settling.push_back((n, now));
        }
        while let Some(&(n, at)) = self.settling.front() {
            if now.duration_since(at) < SETTLE {
                break;
            }
            self.settling.pop_front();
            ack(n, true);
            moved = true;
        }
        Ok(moved)
    }

    /// Ends the stream cleanly within `deadline`: writes what is left,
    /// half-closes and waits for the peer to close, which means it read
    /// everything; then reports every record delivered.
    pub fn finish(&mut self, deadline: Instant, ack: &mut dyn FnMut(u64, bool)) {
        while self.out_pos < self.out.len() && Instant::now() < deadline {
            if self.progress(&mut |_, _| {}).is_err() {
                return;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        if self.out_pos < self.out.len() {
            return;
        }
        let _ = self.progress(&mut |_, _| {});
        let Some(conn) = self.conn.as_mut() else {
            return;
        };
        if let Conn::Tls(s) = conn {
            let _ = s.shutdown();
        }
        let _ = conn.counted().sock.shutdown(std::net::Shutdown::Write);
        while Instant::now() < deadline {
            match conn.check_open(&mut self.scratch) {
                Ok(()) => std::thread::sleep(Duration::from_millis(2)),
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                    let settled = self.settling.drain(..).map(|(n, _)| n);
                    for n in settled.chain(self.inflight.drain(..).map(|(n, _)| n)) {
                        ack(n, true);
                    }
                    break;
                }
                Err(_) => break,
            }
        }
        self.disconnect();
    }
}

/// Bytes in the socket's send queue not yet acknowledged by the peer.
fn unacked_bytes(sock: &TcpStream) -> u64 {
    let mut n: libc::c_int = 0;
    // SAFETY: TIOCOUTQ (SIOCOUTQ) writes one int.
    let rc = unsafe { libc::ioctl(sock.as_raw_fd(), libc::TIOCOUTQ, &mut n) };
    if rc == 0 {
        n.max(0) as u64
    } else {
        u64::MAX
    }
}

fn connect_tcp(host: &str, port: u16) -> Result<TcpStream, String> {
    let addrs: Vec<_> = (host, port)
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {host}: {e}"))?
        .collect();
    let mut last = format!("{host} has no address");
    for a in addrs {
        match TcpStream::connect_timeout(&a, CONNECT_TIMEOUT) {
            Ok(s) => {
                let _ = s.set_nodelay(true);
                return Ok(s);
            }
            Err(e) => last = format!("cannot connect to {a}: {e}"),
        }
    }
    Err(last)
}

fn tls_handshake(c: Counted, t: &TlsSettings) -> Result<SslStream<Counted>, String> {
    let mut b = SslConnector::builder(SslMethod::tls_client()).map_err(|e| e.to_string())?;
    match &t.ca {
        Some(ca) => b
            .set_ca_file(ca)
            .map_err(|e| format!("cannot read CA bundle {}: {e}", ca.display()))?,
        None => {
            b.set_default_verify_paths().map_err(|e| e.to_string())?;
            // OpenSSL vendored: its default paths may not be the system's.
            let _ = b.set_ca_file("/etc/ssl/certs/ca-certificates.crt");
        }
    }
    b.set_verify(SslVerifyMode::PEER);
    b.set_mode(SslMode::ENABLE_PARTIAL_WRITE | SslMode::ACCEPT_MOVING_WRITE_BUFFER);
    let connector = b.build();
    let timeout = Some(CONNECT_TIMEOUT);
    let _ = c.sock.set_read_timeout(timeout);
    let _ = c.sock.set_write_timeout(timeout);
    let s = connector.connect(&t.name, c).map_err(|e| match e {
        openssl::ssl::HandshakeError::SetupFailure(e) => format!("TLS setup failed: {e}"),
        openssl::ssl::HandshakeError::Failure(m) | openssl::ssl::HandshakeError::WouldBlock(m) => {
            format!("TLS handshake failed: {}", m.error())
        }
    })?;
    let _ = s.get_ref().sock.set_read_timeout(None);
    let _ = s.get_ref().sock.set_write_timeout(None);
    Ok(s)
}
