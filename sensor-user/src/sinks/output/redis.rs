//! Redis output: each record `RPUSH key record` (a list, as Suricata's eve
//! redis output does) or `XADD key MAXLEN ~ N * log record` (a stream,
//! capped near N entries), pipelined over one connection. Each reply
//! acknowledges one record; an error reply (a wrong key type, say) refuses
//! it, counted as dropped with one warning. `AUTH` and `SELECT` are sent
//! after connecting when the URL asks for them.

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use super::url::{RedisSpec, RedisType};
use super::{Offer, Record, Transport};

/// Records sent and not yet answered before offers are refused as busy.
const MAX_PENDING: usize = 16_384;

/// Bytes written but not yet taken by the kernel before offers are
/// refused as busy.
const OUT_LIMIT: usize = 1 << 20;

/// How long connecting and the setup commands may take.
const TIMEOUT: Duration = Duration::from_secs(5);

/// The Redis transport.
pub struct RedisTransport {
    spec: RedisSpec,
    sock: Option<TcpStream>,
    out: Vec<u8>,
    out_pos: usize,
    input: Vec<u8>,
    pending: VecDeque<u64>,
    error_reported: bool,
}

impl RedisTransport {
    /// A transport for `spec` (not yet connected).
    pub fn new(spec: &RedisSpec) -> RedisTransport {
        RedisTransport {
            spec: spec.clone(),
            sock: None,
            out: Vec::new(),
            out_pos: 0,
            input: Vec::new(),
            pending: VecDeque::new(),
            error_reported: false,
        }
    }

    fn setup_commands(&self) -> Vec<Vec<Vec<u8>>> {
        let mut cmds = Vec::new();
        if let Some(p) = &self.spec.password {
            let mut c = vec![b"AUTH".to_vec()];
            if let Some(u) = &self.spec.user {
                c.push(u.as_bytes().to_vec());
            }
            c.push(p.as_bytes().to_vec());
            cmds.push(c);
        }
        if self.spec.db != 0 {
            cmds.push(vec![
                b"SELECT".to_vec(),
                self.spec.db.to_string().into_bytes(),
            ]);
        }
        cmds
    }
}

/// Appends a command in RESP.
fn command(args: &[&[u8]], out: &mut Vec<u8>) {
    let _ = write!(out, "*{}\r\n", args.len());
    for a in args {
        let _ = write!(out, "${}\r\n", a.len());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
}

/// One reply parsed from the start of `buf`.
#[derive(Debug, PartialEq, Eq)]
enum Reply {
    /// Not complete yet.
    Partial,
    /// A reply of `len` bytes; `Some(text)` if it is an error.
    Done(usize, Option<String>),
}

/// Parses one RESP reply (nested arrays up to a small depth).
fn parse_reply(buf: &[u8], depth: u32) -> Result<Reply, String> {
    let Some(eol) = buf.windows(2).position(|w| w == b"\r\n") else {
        return Ok(Reply::Partial);
    };
    let line = &buf[1..eol];
    let head = eol + 2;
    let number = || -> Result<i64, String> {
        std::str::from_utf8(line)
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| "malformed reply from the server".to_string())
    };
    match buf.first() {
        Some(b'+') | Some(b':') | Some(b'_') | Some(b'#') | Some(b',') => {
            Ok(Reply::Done(head, None))
        }
        Some(b'-') => Ok(Reply::Done(
            head,
            Some(String::from_utf8_lossy(line).into_owned()),
        )),
        Some(b'$') => {
            let n = number()?;
            if n < 0 {
                return Ok(Reply::Done(head, None));
            }
            let total = head + n as usize + 2;
            Ok(if buf.len() >= total {
                Reply::Done(total, None)
            } else {
                Reply::Partial
            })
        }
        Some(b'*') | Some(b'%') | Some(b'~') => {
            if depth > 8 {
                return Err("reply nested too deep".into());
            }
            let n = number()?.max(0) * if buf[0] == b'%' { 2 } else { 1 };
            let mut at = head;
            for _ in 0..n {
                match parse_reply(&buf[at..], depth + 1)? {
                    Reply::Partial => return Ok(Reply::Partial),
                    Reply::Done(len, _) => at += len,
                }
            }
            Ok(Reply::Done(at, None))
        }
        _ => Err("unexpected reply from the server (is it Redis?)".into()),
    }
}

/// Reads one reply synchronously (setup commands).
fn read_reply(sock: &mut TcpStream, buf: &mut Vec<u8>) -> Result<Option<String>, String> {
    let mut chunk = [0u8; 4096];
    loop {
        if let Reply::Done(len, err) = parse_reply(buf, 0)? {
            buf.drain(..len);
            return Ok(err);
        }
        let n = sock
            .read(&mut chunk)
            .map_err(|e| format!("no reply: {e}"))?;
        if n == 0 {
            return Err("the server closed the connection".into());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

impl Transport for RedisTransport {
    fn connect(&mut self) -> Result<(), String> {
        self.disconnect();
        let addr = (self.spec.host.as_str(), self.spec.port)
            .to_socket_addrs()
            .map_err(|e| format!("cannot resolve {}: {e}", self.spec.host))?
            .next()
            .ok_or_else(|| format!("{} has no address", self.spec.host))?;
        let mut sock = TcpStream::connect_timeout(&addr, TIMEOUT)
            .map_err(|e| format!("cannot connect to {addr}: {e}"))?;
        let _ = sock.set_nodelay(true);
        let _ = sock.set_read_timeout(Some(TIMEOUT));
        for cmd in self.setup_commands() {
            let args: Vec<&[u8]> = cmd.iter().map(Vec::as_slice).collect();
            let mut out = Vec::new();
            command(&args, &mut out);
            sock.write_all(&out)
                .map_err(|e| format!("cannot send {}: {e}", String::from_utf8_lossy(&cmd[0])))?;
            if let Some(err) = read_reply(&mut sock, &mut self.input)? {
                return Err(format!(
                    "{} refused: {err}",
                    String::from_utf8_lossy(&cmd[0])
                ));
            }
        }
        sock.set_nonblocking(true)
            .map_err(|e| format!("cannot configure the socket: {e}"))?;
        self.sock = Some(sock);
        Ok(())
    }

    fn offer(&mut self, n: u64, rec: &Record) -> Result<Offer, String> {
        if self.pending.len() >= MAX_PENDING || self.out.len() - self.out_pos >= OUT_LIMIT {
            return Ok(Offer::Busy);
        }
        let key = self.spec.key.replace("{path}", rec.path());
        match self.spec.kind {
            RedisType::List => command(&[b"RPUSH", key.as_bytes(), rec.msg()], &mut self.out),
            RedisType::Stream if self.spec.maxlen > 0 => {
                let max = self.spec.maxlen.to_string();
                command(
                    &[
                        b"XADD",
                        key.as_bytes(),
                        b"MAXLEN",
                        b"~",
                        max.as_bytes(),
                        b"*",
                        b"log",
                        rec.msg(),
                    ],
                    &mut self.out,
                )
            }
            RedisType::Stream => command(
                &[b"XADD", key.as_bytes(), b"*", b"log", rec.msg()],
                &mut self.out,
            ),
        }
        self.pending.push_back(n);
        Ok(Offer::Taken)
    }

    fn progress(&mut self, ack: &mut dyn FnMut(u64, bool)) -> Result<bool, String> {
        let Some(sock) = self.sock.as_mut() else {
            return Err("not connected".into());
        };
        let mut moved = false;
        while self.out_pos < self.out.len() {
            match sock.write(&self.out[self.out_pos..]) {
                Ok(0) => return Err("the server closed the connection".into()),
                Ok(n) => {
                    self.out_pos += n;
                    moved = true;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => return Err(format!("write failed: {e}")),
            }
        }
        if self.out_pos == self.out.len() {
            self.out.clear();
            self.out_pos = 0;
        }
        let mut chunk = [0u8; 16 << 10];
        loop {
            match sock.read(&mut chunk) {
                Ok(0) => return Err("the server closed the connection".into()),
                Ok(n) => self.input.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => return Err(format!("read failed: {e}")),
            }
        }
        let mut at = 0;
        while let Reply::Done(len, err) = parse_reply(&self.input[at..], 0)? {
            at += len;
            let Some(n) = self.pending.pop_front() else {
                return Err("a reply to no command".into());
            };
            moved = true;
            if let Some(e) = err {
                if !self.error_reported {
                    self.error_reported = true;
                    eprintln!("sensor: warning: output redis {}: the server refused a record: {e}; refused records are counted as dropped", self.spec.key);
                }
                ack(n, false);
            } else {
                ack(n, true);
            }
        }
        self.input.drain(..at);
        Ok(moved)
    }

    fn disconnect(&mut self) {
        self.sock = None;
        self.out.clear();
        self.out_pos = 0;
        self.input.clear();
        self.pending.clear();
    }

    fn finish(&mut self, deadline: std::time::Instant, ack: &mut dyn FnMut(u64, bool)) {
        while !self.pending.is_empty() && std::time::Instant::now() < deadline {
            if self.progress(ack).is_err() {
                return;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_and_replies() {
        let mut out = Vec::new();
        command(&[b"RPUSH", b"k", "é".as_bytes()], &mut out);
        assert_eq!(out, b"*3\r\n$5\r\nRPUSH\r\n$1\r\nk\r\n$2\r\n\xc3\xa9\r\n");
        assert_eq!(parse_reply(b":12\r\n", 0), Ok(Reply::Done(5, None)));
        assert_eq!(parse_reply(b":12\r", 0), Ok(Reply::Partial));
        assert_eq!(
            parse_reply(b"$15\r\n1700000000000-0\r\n", 0),
            Ok(Reply::Done(22, None))
        );
        assert_eq!(parse_reply(b"$15\r\n1700000000", 0), Ok(Reply::Partial));
        assert_eq!(
            parse_reply(b"-WRONGTYPE Operation\r\n", 0),
            Ok(Reply::Done(22, Some("WRONGTYPE Operation".into())))
        );
        assert_eq!(
            parse_reply(b"*2\r\n:1\r\n$1\r\nx\r\n", 0),
            Ok(Reply::Done(15, None))
        );
        assert!(parse_reply(b"HTTP/1.1 400\r\n", 0).is_err());
    }
}
