//! The `--metrics` endpoint: a small HTTP/1.1 server on its own thread
//! that answers `GET /metrics`. The numbers come from the thread that owns
//! them (the main thread of `sensor run`), which answers a scrape the next
//! time it looks ([`MetricsEndpoint::answer`], every 50 ms), so the capture
//! path shares nothing with the endpoint.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::mpsc::{channel, sync_channel, Receiver, Sender, SyncSender};
use std::time::Duration;

/// A scrape waiting for its text.
type Request = SyncSender<String>;

/// The owner's side: scrapes to answer.
pub struct MetricsEndpoint {
    requests: Receiver<Request>,
    /// The address it listens on (with the port chosen, for port 0).
    pub addr: SocketAddr,
}

impl MetricsEndpoint {
    /// Listens on `addr` and serves scrapes on a new thread; an address in
    /// use or not allowed is one line naming it.
    pub fn start(addr: SocketAddr) -> Result<MetricsEndpoint, String> {
        let listener = TcpListener::bind(addr).map_err(|e| {
            format!("--metrics {addr}: cannot listen: {e} (pick a free port or another address)")
        })?;
        let addr = listener.local_addr().unwrap_or(addr);
        let (tx, rx) = channel();
        std::thread::Builder::new()
            .name("metrics".into())
            .spawn(move || serve(listener, tx))
            .map_err(|e| format!("cannot start the metrics thread: {e}"))?;
        Ok(MetricsEndpoint { requests: rx, addr })
    }

    /// Answers the scrapes waiting, with `render()` computed once.
    pub fn answer(&self, render: impl FnOnce() -> String) {
        let waiting: Vec<Request> = self.requests.try_iter().collect();
        if waiting.is_empty() {
            return;
        }
        let text = render();
        for r in waiting {
            let _ = r.try_send(text.clone());
        }
    }
}

/// Serves connections one at a time until the process ends (a scrape
/// after the owner has gone gets a 503).
fn serve(listener: TcpListener, owner: Sender<Request>) {
    for conn in listener.incoming() {
        let Ok(conn) = conn else { continue };
        let _ = handle(conn, &owner);
    }
}

/// One request: `GET /metrics` gets the text, anything else a 404.
fn handle(mut conn: TcpStream, owner: &Sender<Request>) -> std::io::Result<()> {
    conn.set_read_timeout(Some(Duration::from_secs(5)))?;
    conn.set_write_timeout(Some(Duration::from_secs(5)))?;
    let mut reader = BufReader::new(conn.try_clone()?);
    let mut line = String::new();
    reader.by_ref().take(8192).read_line(&mut line)?;
    // The headers: read and ignored (bounded).
    let mut header = String::new();
    for _ in 0..100 {
        header.clear();
        if reader.by_ref().take(8192).read_line(&mut header)? == 0 || header.trim().is_empty() {
            break;
        }
    }
    let path = line.split_whitespace().nth(1).unwrap_or("");
    if !line.starts_with("GET ") || (path != "/metrics" && !path.starts_with("/metrics?")) {
        let body = "not found: the metrics are at /metrics\n";
        return reply(&mut conn, "404 Not Found", "text/plain", body);
    }
    let (tx, rx) = sync_channel(1);
    if owner.send(tx).is_err() {
        return reply(
            &mut conn,
            "503 Service Unavailable",
            "text/plain",
            "stopping\n",
        );
    }
    match rx.recv_timeout(Duration::from_secs(5)) {
        Ok(text) => reply(
            &mut conn,
            "200 OK",
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
            &text,
        ),
        Err(_) => reply(&mut conn, "503 Service Unavailable", "text/plain", "busy\n"),
    }
}

fn reply(conn: &mut TcpStream, status: &str, ctype: &str, body: &str) -> std::io::Result<()> {
    write!(
        conn,
        "HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    conn.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_get_metrics_from_the_owner() {
        let ep = MetricsEndpoint::start("127.0.0.1:0".parse().unwrap()).unwrap();
        let addr = ep.addr;
        let client = std::thread::spawn(move || {
            let mut c = TcpStream::connect(addr).unwrap();
            c.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
                .unwrap();
            let mut text = String::new();
            c.read_to_string(&mut text).unwrap();
            text
        });
        let mut answered = false;
        for _ in 0..200 {
            ep.answer(|| {
                answered = true;
                "sensor_packets_total 1\n# EOF\n".into()
            });
            if answered {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let text = client.join().unwrap();
        assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
        assert!(text.ends_with("sensor_packets_total 1\n# EOF\n"), "{text}");
        let mut c = TcpStream::connect(addr).unwrap();
        c.write_all(b"GET / HTTP/1.1\r\n\r\n").unwrap();
        let mut text = String::new();
        c.read_to_string(&mut text).unwrap();
        assert!(text.starts_with("HTTP/1.1 404"), "{text}");
    }
}
