//! Real servers for the export tests: rsyslog, redis-server and a
//! Kafka-protocol broker, each started with its own configuration in a
//! test folder, listening on loopback (of the host, or of a test bed's
//! namespace), stopped and started again at will, and killed when dropped.
//! A missing server is installed from Debian (or crates.io, for the
//! broker) first.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Installs Debian `packages` unless `binary` is on the PATH (the tests run
/// as root on CI; elsewhere the panic says what to install).
pub fn ensure_installed(binary: &str, packages: &[&str]) {
    if which(binary).is_some() {
        return;
    }
    let ok = Command::new("apt-get")
        .args(["install", "-y", "-qq"])
        .args(packages)
        .env("DEBIAN_FRONTEND", "noninteractive")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
        || (Command::new("apt-get")
            .args(["update", "-qq"])
            .status()
            .is_ok_and(|s| s.success())
            && Command::new("apt-get")
                .args(["install", "-y", "-qq"])
                .args(packages)
                .env("DEBIAN_FRONTEND", "noninteractive")
                .stdout(Stdio::null())
                .status()
                .is_ok_and(|s| s.success()));
    assert!(
        ok && which(binary).is_some(),
        "{binary} is missing and could not be installed: apt-get install {}",
        packages.join(" ")
    );
}

/// The path of `binary` on the PATH (or in /usr/sbin, /sbin).
pub fn which(binary: &str) -> Option<PathBuf> {
    let path = std::env::var("PATH").unwrap_or_default();
    let found = path
        .split(':')
        .chain(["/usr/sbin", "/sbin"])
        .map(|d| Path::new(d).join(binary))
        .find(|p| p.is_file());
    found
}

/// A TCP port that is free on the host's loopback now, and that no earlier
/// call in this process handed out.
///
/// The kernel may give the same ephemeral port to two binds in a row once
/// the first socket is closed, so a server with several listeners (rsyslog's
/// TCP and TLS inputs) could otherwise be handed one port twice.
pub fn free_port() -> u16 {
    static GIVEN: std::sync::Mutex<Vec<u16>> = std::sync::Mutex::new(Vec::new());
    let mut given = GIVEN.lock().unwrap_or_else(|e| e.into_inner());
    loop {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port");
        if !given.contains(&port) {
            given.push(port);
            return port;
        }
    }
}

/// A command run in network namespace `ns` (or here).
fn command_in(ns: Option<&str>, program: &str) -> Command {
    match ns {
        Some(ns) => {
            let mut c = Command::new("ip");
            c.args(["netns", "exec", ns, program]);
            c
        }
        None => Command::new(program),
    }
}

/// Whether something listens on 127.0.0.1:`port` (TCP, or UDP) in `ns`.
fn listening(ns: Option<&str>, port: u16, udp: bool) -> bool {
    let flag = if udp { "-Hlnu" } else { "-Hlnt" };
    command_in(ns, "ss")
        .args([flag, &format!("sport = :{port}")])
        .output()
        .is_ok_and(|o| !o.stdout.is_empty())
}

fn wait_listening(ns: Option<&str>, ports: &[(u16, bool)], child: &mut Child, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !ports.iter().all(|(p, udp)| listening(ns, *p, *udp)) {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("{what} exited ({status}) before listening");
        }
        assert!(
            Instant::now() < deadline,
            "{what} did not listen within 20 s"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn stop_child(child: &mut Option<Child>) {
    stop_child_with(child, libc::SIGTERM);
}

fn stop_child_with(child: &mut Option<Child>, signal: libc::c_int) {
    if let Some(mut c) = child.take() {
        // SAFETY: signalling our own child.
        unsafe { libc::kill(c.id() as i32, signal) };
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = c.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = c.kill();
        let _ = c.wait();
    }
}

/// A CA and a server certificate for `localhost` / 127.0.0.1, as PEM files
/// in `dir`: `ca.pem`, `server.pem`, `server.key`.
pub fn make_certs(dir: &Path) {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, SanType};
    std::fs::create_dir_all(dir).expect("cert dir");
    let ca_key = KeyPair::generate().expect("CA key");
    let mut ca = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    ca.distinguished_name
        .push(DnType::CommonName, "sensor test CA");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_cert = ca.self_signed(&ca_key).expect("CA cert");
    let key = KeyPair::generate().expect("server key");
    let mut p = CertificateParams::new(vec!["localhost".to_string()]).expect("server params");
    p.subject_alt_names
        .push(SanType::IpAddress("127.0.0.1".parse().expect("address")));
    p.distinguished_name.push(DnType::CommonName, "localhost");
    let cert = p.signed_by(&key, &ca_cert, &ca_key).expect("server cert");
    std::fs::write(dir.join("ca.pem"), ca_cert.pem()).expect("ca.pem");
    std::fs::write(dir.join("server.pem"), cert.pem()).expect("server.pem");
    std::fs::write(dir.join("server.key"), key.serialize_pem()).expect("server.key");
}

/// rsyslog with three inputs on 127.0.0.1: TCP (octet counting), TLS
/// (gtls, this folder's own CA) and UDP. Every message received is written
/// to `messages.log` as `<input> <MSG>`, the MSG exactly as sent (no
/// escaping, no size cut up to 256 KiB).
pub struct Rsyslog {
    dir: PathBuf,
    ns: Option<String>,
    /// TCP port.
    pub tcp: u16,
    /// TLS port.
    pub tls: u16,
    /// UDP port.
    pub udp: u16,
    child: Option<Child>,
}

impl Rsyslog {
    /// Writes the configuration into `dir` and starts rsyslogd (in `ns`).
    pub fn start(dir: &Path, ns: Option<&str>) -> Rsyslog {
        Rsyslog::start_with(dir, ns, true)
    }

    /// Starts rsyslogd; with `keep` false it takes every message and
    /// discards it (a receiver that costs little, for benchmarks).
    pub fn start_with(dir: &Path, ns: Option<&str>, keep: bool) -> Rsyslog {
        ensure_installed("rsyslogd", &["rsyslog", "rsyslog-gnutls"]);
        let _ = std::fs::remove_dir_all(dir);
        std::fs::create_dir_all(dir.join("work")).expect("rsyslog dir");
        make_certs(dir);
        let (tcp, tls, udp) = (free_port(), free_port(), free_port());
        let d = dir.display();
        let action = if keep {
            format!(r#"action(type="omfile" file="{d}/messages.log" template="line")"#)
        } else {
            // rsyslog wants one action: this one never runs.
            format!(
                r#"if $msg == "-never-" then {{ action(type="omfile" file="{d}/never.log") }} stop"#
            )
        };
        let conf = format!(
            r#"global(workDirectory="{d}/work" maxMessageSize="256k"
  parser.escapeControlCharactersOnReceive="off" parser.escape8BitCharactersOnReceive="off"
  defaultNetstreamDriverCAFile="{d}/ca.pem"
  defaultNetstreamDriverCertFile="{d}/server.pem"
  defaultNetstreamDriverKeyFile="{d}/server.key")
module(load="imtcp" maxSessions="200")
module(load="imudp")
input(type="imtcp" address="127.0.0.1" port="{tcp}" name="tcp" ruleset="sensor" maxFrameSize="300000" discardTruncatedMsg="on")
input(type="imtcp" address="127.0.0.1" port="{tls}" name="tls" ruleset="sensor" streamDriver.name="gtls" streamDriver.mode="1" streamDriver.authMode="anon" maxFrameSize="300000" discardTruncatedMsg="on")
input(type="imudp" address="127.0.0.1" port="{udp}" name="udp" ruleset="sensor")
template(name="line" type="list") {{ property(name="inputname") constant(value=" ") property(name="msg") constant(value="\n") }}
ruleset(name="sensor") {{ {action} }}
"#
        );
        std::fs::write(dir.join("rsyslog.conf"), conf).expect("rsyslog.conf");
        let mut r = Rsyslog {
            dir: dir.to_path_buf(),
            ns: ns.map(String::from),
            tcp,
            tls,
            udp,
            child: None,
        };
        r.restart();
        r
    }

    /// Starts rsyslogd (again) and waits until it listens.
    pub fn restart(&mut self) {
        stop_child(&mut self.child);
        let d = &self.dir;
        let mut child = command_in(self.ns.as_deref(), "rsyslogd")
            .arg("-n")
            .arg("-f")
            .arg(d.join("rsyslog.conf"))
            .arg("-i")
            .arg(d.join("rsyslog.pid"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting rsyslogd");
        let ports = [(self.tcp, false), (self.tls, false), (self.udp, true)];
        wait_listening(self.ns.as_deref(), &ports, &mut child, "rsyslogd");
        self.child = Some(child);
    }

    /// Stops rsyslogd (SIGTERM).
    pub fn stop(&mut self) {
        stop_child(&mut self.child);
    }

    /// The CA bundle its TLS certificate chains to.
    pub fn ca(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }

    /// Every message received so far: (input name, MSG).
    pub fn messages(&self) -> Vec<(String, String)> {
        let text = std::fs::read(self.dir.join("messages.log")).unwrap_or_default();
        String::from_utf8(text)
            .expect("rsyslog wrote UTF-8")
            .lines()
            .filter_map(|l| l.split_once(' '))
            .map(|(i, m)| (i.to_string(), m.to_string()))
            .collect()
    }
}

impl Drop for Rsyslog {
    fn drop(&mut self) {
        stop_child(&mut self.child);
    }
}

/// redis-server on 127.0.0.1, persisting to its folder (append-only file,
/// synced on every write) so that a stop and a start lose nothing.
pub struct Redis {
    dir: PathBuf,
    ns: Option<String>,
    /// Its port.
    pub port: u16,
    child: Option<Child>,
}

impl Redis {
    /// Starts redis-server (in `ns`) with its data in `dir`.
    pub fn start(dir: &Path, ns: Option<&str>) -> Redis {
        Redis::start_on(dir, ns, free_port())
    }

    /// Starts redis-server on `port`.
    pub fn start_on(dir: &Path, ns: Option<&str>, port: u16) -> Redis {
        ensure_installed("redis-server", &["redis-server"]);
        let _ = std::fs::remove_dir_all(dir);
        std::fs::create_dir_all(dir).expect("redis dir");
        let mut r = Redis {
            dir: dir.to_path_buf(),
            ns: ns.map(String::from),
            port,
            child: None,
        };
        r.restart();
        r
    }

    /// Starts redis-server (again) and waits until it listens.
    pub fn restart(&mut self) {
        stop_child(&mut self.child);
        let mut child = command_in(self.ns.as_deref(), "redis-server")
            .args(["--bind", "127.0.0.1", "--port", &self.port.to_string()])
            .args([
                "--save",
                "",
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
            ])
            .arg("--dir")
            .arg(&self.dir)
            .args(["--protected-mode", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting redis-server");
        wait_listening(
            self.ns.as_deref(),
            &[(self.port, false)],
            &mut child,
            "redis-server",
        );
        // Listening precedes loading the append-only file: wait for PING.
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.cli(&["PING"]).trim() != "PONG" {
            assert!(Instant::now() < deadline, "redis-server is not ready");
            std::thread::sleep(Duration::from_millis(20));
        }
        self.child = Some(child);
    }

    /// Stops redis-server (SIGTERM: it syncs its file first).
    pub fn stop(&mut self) {
        stop_child(&mut self.child);
    }

    /// Runs `redis-cli --raw` with `args` and returns its output.
    pub fn cli(&self, args: &[&str]) -> String {
        let out = command_in(self.ns.as_deref(), "redis-cli")
            .args(["-p", &self.port.to_string(), "--raw"])
            .args(args)
            .output()
            .expect("redis-cli");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The entries of list `key`.
    pub fn list(&self, key: &str) -> Vec<String> {
        self.cli(&["LRANGE", key, "0", "-1"])
            .lines()
            .map(String::from)
            .collect()
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        stop_child(&mut self.child);
    }
}

/// The Kafka-protocol broker the tests use: tansu (a Kafka-compatible
/// broker written in Rust, from crates.io), built once into
/// `target/tools/` when it is not on the PATH.
pub const TANSU_VERSION: &str = "0.6.0";

/// The cargo features of the tansu build: SQLite storage, which survives a
/// restart of the broker.
pub const TANSU_FEATURES: &str = "libsql";

/// Where tansu is, installing it first if needed (a debug build, which is
/// quicker to make and quick enough for tests: several minutes).
pub fn tansu() -> PathBuf {
    static INSTALL: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one_at_a_time = INSTALL.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(p) = which("tansu") {
        return p;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("target")
        .join("tools");
    let bin = root.join("bin").join("tansu");
    if bin.is_file() {
        return bin;
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let ok = Command::new(cargo)
        .args([
            "install",
            "--locked",
            "--quiet",
            "tansu",
            "--version",
            TANSU_VERSION,
        ])
        .args(["--no-default-features", "--features", TANSU_FEATURES])
        .arg("--root")
        .arg(&root)
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        ok && bin.is_file(),
        "installing tansu {TANSU_VERSION} failed"
    );
    bin
}

/// A tansu broker on 127.0.0.1 with its data in its folder.
pub struct Kafka {
    dir: PathBuf,
    ns: Option<String>,
    storage: String,
    /// Its port.
    pub port: u16,
    child: Option<Child>,
}

impl Kafka {
    /// Starts the broker (in `ns`) with its data in `dir` (SQLite storage,
    /// which survives a restart).
    pub fn start(dir: &Path, ns: Option<&str>) -> Kafka {
        // Relative to the working directory, which is the broker's folder.
        Kafka::start_with(dir, ns, "sqlite://tansu.db")
    }

    /// Starts the broker with a storage engine of tansu's (`null://sink`
    /// takes and drops every record: a receiver that costs next to nothing,
    /// for benchmarks).
    pub fn start_with(dir: &Path, ns: Option<&str>, storage: &str) -> Kafka {
        let _ = std::fs::remove_dir_all(dir);
        std::fs::create_dir_all(dir).expect("broker dir");
        let mut k = Kafka {
            dir: dir.to_path_buf(),
            ns: ns.map(String::from),
            storage: storage.to_string(),
            port: free_port(),
            child: None,
        };
        k.restart();
        k
    }

    /// `HOST:PORT` of the broker.
    pub fn bootstrap(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Starts the broker (again, on the same port and storage) and waits
    /// until it listens.
    pub fn restart(&mut self) {
        self.stop();
        let url = format!("tcp://127.0.0.1:{}", self.port);
        let bin = tansu();
        let mut child = command_in(self.ns.as_deref(), &bin.to_string_lossy())
            .args(["broker", "--listener-url", &url])
            .args(["--advertised-listener-url", &url])
            .args(["--storage-engine", &self.storage])
            .args(["--cluster-id", "sensor-test"])
            .current_dir(&self.dir)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(self.dir.join("broker.log")).expect("broker log"))
            .spawn()
            .expect("starting tansu");
        wait_listening(
            self.ns.as_deref(),
            &[(self.port, false)],
            &mut child,
            "tansu",
        );
        self.child = Some(child);
    }

    /// Stops the broker (SIGINT: it closes at once).
    pub fn stop(&mut self) {
        stop_child_with(&mut self.child, libc::SIGINT);
    }

    /// Creates `topic` with `partitions` partitions.
    pub fn create_topic(&self, topic: &str, partitions: u32) {
        let bin = tansu();
        let out = command_in(self.ns.as_deref(), &bin.to_string_lossy())
            .args(["topic", "create", topic, "--broker"])
            .arg(format!("tcp://127.0.0.1:{}", self.port))
            .args(["--partitions", &partitions.to_string()])
            .current_dir(&self.dir)
            .output()
            .expect("tansu topic create");
        assert!(
            out.status.success(),
            "creating topic {topic}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for Kafka {
    fn drop(&mut self) {
        self.stop();
    }
}
