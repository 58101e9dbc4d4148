//! Real POP3 and IMAP traffic for the tests: Debian's dovecot serving a
//! Maildir of known messages, Python's poplib and imaplib fetching and
//! appending them, and tcpdump recording every frame between the two into
//! a pcap, with a JSON manifest of what the client did and what each
//! message (and attachment) it saw hashes to.
//!
//! ```text
//!   netns sb-cap-<tag>  (client side)         netns sb-gen-<tag>  (server side)
//!   [ client.py, tcpdump on sc<tag> ] <== veth ==> [ sg<tag>: dovecot ]
//!        10.213.0.1/24                                 10.213.0.2/24
//! ```
//!
//! The two namespaces are [`bench::testbed::Testbed`]'s, with an address
//! on each end that exists only there: nothing is routed anywhere else, and
//! the names carry a tag unique to the call, so recordings can run
//! concurrently.
//!
//! # Dovecot
//!
//! Everything dovecot needs is in the recording's folder (`dovecot.conf`,
//! `run/` as base_dir, `state/`, `dovecot.log`, `passwd`, the certificate,
//! `mail/alice/` as the Maildir). The master runs as root (`dovecot -F`);
//! its login processes run as Debian's `dovenull` and its internal ones as
//! `dovecot`, the defaults. Mail processes must not run as root (dovecot
//! refuses uid 0 for mail access), so the user's uid and gid are
//! `nobody`/`nogroup` (65534) and the Maildir is chowned to them; the
//! recording folder and its ancestors must be searchable by others.
//! Messages are written with CRLF line ends, which dovecot sends unchanged
//! (POP3 dot-stuffs lines beginning with a dot), and `mail_save_crlf = yes`
//! keeps an appended message's bytes as sent.
//!
//! # Manifest
//!
//! `manifest.json`, written by `tests/data/mailbox/client.py`, then given a
//! `capture` section by [`record`]:
//!
//! ```json
//! {
//!  "format": 1,
//!  "server": {"address": "10.213.0.2", "pop3_port": 110, "imap_port": 143},
//!  "client": {"address": "10.213.0.1"},
//!  "user": "alice", "password": "wonderland-42",
//!  "seeded": [{"id": "plain-dots", "mailbox": "INBOX", "about": "…",
//!              "file": "…/mail/alice/cur/1700000001.M1P1.mailbox-test:2,",
//!              "subject": "…", "sha256": "ff94a66c…", "md5": "…", "length": 509,
//!              "parts": [{"section": "1", "content_type": "text/plain",
//!                         "charset": "us-ascii", "filename": null,
//!                         "disposition": null, "is_attachment": false,
//!                         "transfer_encoding": "7bit",
//!                         "content": {"sha256": "226aa8b2…", "md5": "…", "length": 199}}]}, …],
//!  "appended": {"id": "sent-pdf", "mailbox": "Sent", …, "stored": {"sha256": …, "matches": true}},
//!  "sessions": [{"name": "pop3-user-pass", "protocol": "pop3",
//!                "server": "10.213.0.2", "server_port": 110,
//!                "client": "10.213.0.1", "client_port": 36548,
//!                "tls": false, "tls_version": null, "tls_cipher": null,
//!                "user": "alice",
//!                "auth": {"method": "USER/PASS", "mechanism": null,
//!                         "initial_response": null, "encrypted": false},
//!                "greeting": "+OK Dovecot (Debian) ready.",
//!                "mailboxes_before": {"INBOX": ["plain-dots", …], "Archive": […], "Sent": []},
//!                "commands": [{"line": "RETR 1", "command": "RETR", "arg": "1",
//!                              "encrypted": false, "reply": "+OK 509 octets"}, …],
//!                "messages": [{"command": "RETR 1", "direction": "server-to-client",
//!                              "mailbox": "INBOX", "number": 1, "partial": false,
//!                              "encrypted": false, "expected_seed": "plain-dots",
//!                              "seed": "plain-dots", "matches_seed": true,
//!                              "sha256": "ff94a66c…", "md5": "…", "length": 509,
//!                              "wire_length": 513, "dot_stuffed_lines": 4,
//!                              "parts": […]}, …],
//!                "start": 1796306109.95, "end": 1796306109.99, …}, …],
//!  "mailboxes_after": {…},
//!  "problems": [],
//!  "capture": {"pcap": "…/mail.pcap", "interface": "scm…", "namespace_tag": "m…", "frames": 216}
//! }
//! ```
//!
//! IMAP command entries have `tag`, `command`, `args`, `reply` (the tagged
//! status) instead of `command`/`arg`; lines that continue an IDLE or
//! AUTHENTICATE (`DONE`, the SASL response) have `continuation_of` (the
//! tag); an APPEND's entry has `literals` (their digests). POP3 sessions
//! add `stat`, `list` and `uidl`; `pop3-user-pass` adds `deleted`. A
//! message's `length` counts the message itself (a RETR body after
//! dot-unstuffing, an IMAP literal); `wire_length` a RETR's bytes before
//! unstuffing, without the final `.` line. `partial: true` marks TOP's
//! header part, compared with the seed's header block and empty line.
//! Parts are every MIME entity with content, in order, with its IMAP
//! section: text bodies and attachments decoded (base64, quoted-printable)
//! by Python's `email` package, each ending before the CRLF that precedes
//! the next boundary; a `message/rfc822` part's content is the inner
//! message's bytes, and the inner message's own parts follow it.
//!
//! Each session ends with QUIT or LOGOUT, after which the client reads
//! until dovecot closes and then closes its side: in the pcap the server's
//! FIN comes first and there is no RST, every time.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use bench::testbed::Testbed;
use serde_json::{json, Value};

/// The client's address, on the client end of the veth.
pub const CLIENT_ADDR: &str = "10.213.0.1";
/// Dovecot's address, on the server end of the veth.
pub const SERVER_ADDR: &str = "10.213.0.2";
/// POP3 port.
pub const POP3_PORT: u16 = 110;
/// IMAP port.
pub const IMAP_PORT: u16 = 143;
/// The one mail account.
pub const USER: &str = "alice";
/// Its password (in clear in the cleartext sessions, of course).
pub const PASSWORD: &str = "wonderland-42";
/// uid and gid of the mail processes: `nobody`/`nogroup` (dovecot refuses
/// root for mail access).
const MAIL_ID: u32 = 65534;

/// A recording: the pcap, and the manifest of what went over the wire.
#[derive(Debug)]
pub struct Recording {
    /// `dir/mail.pcap` (Ethernet, full frames).
    pub pcap: PathBuf,
    /// The client's manifest plus the `capture` section (see the module
    /// documentation).
    pub manifest: Value,
}

/// Whether a recording can be made here (root: namespaces, tcpdump, apt);
/// panics unless skipping is explicit (`SENSOR_SKIP_LIVE=1`), like the
/// live tests.
pub fn recording_ok() -> bool {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        return true;
    }
    if std::env::var_os("SENSOR_SKIP_LIVE").is_some() {
        eprintln!("mailbox recording skipped: not root");
        return false;
    }
    panic!("the mailbox recording needs root; set SENSOR_SKIP_LIVE=1 to skip it knowingly");
}

/// Records the client's six sessions against dovecot into `dir/mail.pcap`
/// (see the module documentation). `dir` is emptied first. The namespaces
/// and processes are gone when it returns, whether it succeeded or not.
/// An error is one line saying what failed.
pub fn record(dir: &Path) -> Result<Recording, String> {
    install()?;
    let dir = &prepare_dir(dir)?;
    let pcap = dir.join("mail.pcap");
    make_certificate(dir)?;
    let seeds = seed_messages();
    write_mailbox(dir, &seeds)?;
    write_dovecot_config(dir)?;

    let tag = format!("m{}", crate::live::tag());
    let bed = Testbed::create(&tag, 1500).map_err(|e| format!("creating the test bed: {e:#}"))?;
    let mut run = Run {
        procs: Vec::new(),
        bed,
    };
    run.address()?;

    // Dovecot on the server side.
    let dovecot = run.spawn_in(
        false,
        "dovecot",
        &["-F", "-c", &dir.join("dovecot.conf").to_string_lossy()],
        dir,
        "dovecot.stderr",
    )?;
    run.wait_listening(dovecot, &[POP3_PORT, IMAP_PORT], dir)?;

    // tcpdump on the client side: full frames (-s 0), each frame handed
    // over at once (--immediate-mode: otherwise frames wait in the ring's
    // current block, and those still there at SIGINT are lost) and written
    // at once (-U), as root (Debian's tcpdump drops to its own user
    // otherwise, which cannot write into `dir`).
    let cap_if = run.bed.cap_if.clone();
    let tcpdump = run.spawn_in(
        true,
        "tcpdump",
        &[
            "-i",
            &cap_if,
            "-s",
            "0",
            "--immediate-mode",
            "-U",
            "-n",
            "-Z",
            "root",
            "-w",
            &pcap.to_string_lossy(),
        ],
        dir,
        "tcpdump.stderr",
    )?;
    run.wait_tcpdump(tcpdump, dir)?;

    // The client, on the client side.
    let args = client_args(dir, &seeds);
    let args_path = dir.join("client-args.json");
    std::fs::write(
        &args_path,
        serde_json::to_string_pretty(&args).expect("JSON"),
    )
    .map_err(|e| format!("writing {}: {e}", args_path.display()))?;
    let script = crate::data_dir().join("mailbox").join("client.py");
    let client = run.spawn_in(
        true,
        "/usr/bin/python3",
        &[&script.to_string_lossy(), &args_path.to_string_lossy()],
        dir,
        "client.log",
    )?;
    let status = run.wait_exit(client, Duration::from_secs(120));

    // The last ACKs, then tcpdump writes what it has and says what it saw.
    std::thread::sleep(Duration::from_millis(300));
    run.stop(tcpdump, libc::SIGINT);
    run.stop(dovecot, libc::SIGTERM);
    drop(run);

    let manifest_path = dir.join("manifest.json");
    let text = std::fs::read_to_string(&manifest_path);
    let status = status?;
    let mut manifest: Value = match text {
        Ok(t) => serde_json::from_str(&t)
            .map_err(|e| format!("{}: not JSON: {e}", manifest_path.display()))?,
        Err(_) => {
            return Err(format!(
                "the mail client wrote no manifest ({status}): {}",
                last_line(&dir.join("client.log"))
            ))
        }
    };
    let problems: Vec<String> = manifest["problems"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(String::from)
                .collect()
        })
        .unwrap_or_default();
    if let Some(first) = problems.first() {
        return Err(format!(
            "the mail client found {} problem(s), the first: {first} (see {})",
            problems.len(),
            dir.join("client.log").display()
        ));
    }
    if !status.success() {
        return Err(format!(
            "the mail client failed ({status}): {}",
            last_line(&dir.join("client.log"))
        ));
    }
    // "N packets captured", "N packets received by filter", "N packets
    // dropped by kernel": all the kernel took must be in the file.
    let summary = std::fs::read_to_string(dir.join("tcpdump.stderr")).unwrap_or_default();
    let count = |what: &str| {
        summary
            .lines()
            .find(|l| l.contains(what))
            .and_then(|l| l.split_whitespace().next())
            .and_then(|n| n.parse::<u64>().ok())
    };
    let (captured, received, dropped) = (
        count("packets captured"),
        count("received by filter"),
        count("dropped by kernel"),
    );
    if captured.is_none() || captured != received || dropped != Some(0) {
        return Err(format!(
            "tcpdump did not write every frame: {}",
            summary.lines().skip(1).collect::<Vec<_>>().join(", ")
        ));
    }
    if !pcap.is_file() {
        return Err(format!("tcpdump wrote no {}", pcap.display()));
    }
    manifest["capture"] = json!({
        "pcap": pcap,
        "interface": cap_if,
        "namespace_tag": tag,
        "frames": captured,
    });
    std::fs::write(
        &manifest_path,
        serde_json::to_string_pretty(&manifest).expect("JSON") + "\n",
    )
    .map_err(|e| format!("writing {}: {e}", manifest_path.display()))?;
    Ok(Recording { pcap, manifest })
}

/// What must be on the machine: (Debian package, a file it installs).
/// A name without a slash is looked for on the PATH.
const NEEDED: [(&str, &str); 7] = [
    ("dovecot-core", "/usr/sbin/dovecot"),
    ("dovecot-imapd", "/usr/lib/dovecot/imap"),
    ("dovecot-pop3d", "/usr/lib/dovecot/pop3"),
    ("tcpdump", "tcpdump"),
    ("openssl", "openssl"),
    ("iproute2", "ip"),
    ("python3", "/usr/bin/python3"),
];

/// Installs the missing packages with apt-get (after `apt-get update` if
/// the first try fails), one install at a time in this process.
fn install() -> Result<(), String> {
    static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _lock = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let present = |file: &str| {
        if file.contains('/') {
            Path::new(file).exists()
        } else {
            crate::servers::which(file).is_some()
        }
    };
    // python3-minimal alone gives /usr/bin/python3 without the modules.
    let python_whole = || {
        Command::new("/usr/bin/python3")
            .args(["-c", "import email, imaplib, poplib, ssl, hashlib, json"])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    let missing: Vec<&str> = NEEDED
        .iter()
        .filter(|(package, file)| !present(file) || (*package == "python3" && !python_whole()))
        .map(|(package, _)| *package)
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let apt = |args: &[&str]| -> Result<(), String> {
        let out = Command::new("apt-get")
            .args(["-o", "DPkg::Lock::Timeout=120"])
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .output()
            .map_err(|e| format!("cannot run apt-get: {e}"))?;
        if out.status.success() {
            return Ok(());
        }
        let err = String::from_utf8_lossy(&out.stderr);
        Err(err
            .lines()
            .rfind(|l| !l.trim().is_empty())
            .unwrap_or("")
            .to_string())
    };
    let mut install = vec!["install", "-y", "-qq"];
    install.extend(&missing);
    if apt(&install).is_err() {
        let update = apt(&["update", "-qq"]);
        if let Err(e) = apt(&install) {
            let why = update
                .err()
                .map_or(e.clone(), |u| format!("{e} (apt-get update: {u})"));
            return Err(format!(
                "installing {} with apt-get failed: {why}",
                missing.join(" ")
            ));
        }
    }
    match NEEDED.iter().find(|(_, file)| !present(file)) {
        Some((package, file)) => Err(format!(
            "apt-get installed {package}, but {file} is still missing"
        )),
        None => Ok(()),
    }
}

/// Empties `dir` and checks that the mail processes (`nobody`) can reach
/// it and that dovecot's socket paths in it stay short enough; returns its
/// absolute path (for dovecot's configuration).
fn prepare_dir(dir: &Path) -> Result<PathBuf, String> {
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    let dir = dir
        .canonicalize()
        .map_err(|e| format!("{}: {e}", dir.display()))?;
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755))
        .map_err(|e| format!("chmod {}: {e}", dir.display()))?;
    for a in dir.ancestors().skip(1) {
        let mode = std::fs::metadata(a).map(|m| m.permissions().mode());
        if mode.is_ok_and(|m| m & 0o001 == 0) {
            return Err(format!(
                "{} is not searchable by others, so dovecot's mail processes (nobody) \
                 cannot reach {}",
                a.display(),
                dir.display()
            ));
        }
    }
    // Unix socket paths hold 108 bytes; dovecot's longest below base_dir
    // is about 30.
    if dir.as_os_str().len() > 70 {
        return Err(format!(
            "{} is too long a path for dovecot's sockets (at most 70 bytes)",
            dir.display()
        ));
    }
    Ok(dir)
}

/// A self-signed certificate for `mail.test` / the server address:
/// `cert.pem`, `key.pem`.
fn make_certificate(dir: &Path) -> Result<(), String> {
    let out = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30",
        ])
        .args(["-subj", "/CN=mail.test"])
        .arg("-addext")
        .arg(format!("subjectAltName=DNS:mail.test,IP:{SERVER_ADDR}"))
        .arg("-keyout")
        .arg(dir.join("key.pem"))
        .arg("-out")
        .arg(dir.join("cert.pem"))
        .output()
        .map_err(|e| format!("cannot run openssl: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "openssl req failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(())
}

/// The Maildir of the account (Maildir++: folders are `.Name`).
fn maildir(dir: &Path) -> PathBuf {
    dir.join("mail").join(USER)
}

/// Writes the passwd file, the Maildir with the seeded messages (INBOX and
/// `.Archive`; `.Sent` is made by dovecot) and `append.eml`, and gives the
/// Maildir to the mail user.
fn write_mailbox(dir: &Path, seeds: &[SeedMessage]) -> Result<(), String> {
    let io = |what: &Path, e: std::io::Error| format!("writing {}: {e}", what.display());
    let home = maildir(dir);
    let passwd = dir.join("passwd");
    std::fs::write(
        &passwd,
        format!(
            "{USER}:{{PLAIN}}{PASSWORD}:{MAIL_ID}:{MAIL_ID}::{}::\n",
            home.display()
        ),
    )
    .map_err(|e| io(&passwd, e))?;
    for folder in ["", ".Archive"] {
        for sub in ["cur", "new", "tmp"] {
            let d = home.join(folder).join(sub);
            std::fs::create_dir_all(&d).map_err(|e| io(&d, e))?;
        }
    }
    std::fs::write(home.join(".Archive").join("maildirfolder"), b"").map_err(|e| io(&home, e))?;
    for s in seeds {
        let path = s.path(dir);
        std::fs::write(&path, &s.bytes).map_err(|e| io(&path, e))?;
    }
    chown_tree(&dir.join("mail"))
}

fn chown_tree(path: &Path) -> Result<(), String> {
    std::os::unix::fs::chown(path, Some(MAIL_ID), Some(MAIL_ID))
        .map_err(|e| format!("chown {}: {e}", path.display()))?;
    if path.is_dir() {
        let entries = std::fs::read_dir(path).map_err(|e| format!("{}: {e}", path.display()))?;
        for e in entries.flatten() {
            chown_tree(&e.path())?;
        }
    }
    Ok(())
}

/// Dovecot's own configuration: nothing from /etc/dovecot is read.
fn write_dovecot_config(dir: &Path) -> Result<(), String> {
    let d = dir.display();
    let home = maildir(dir);
    let h = home.display();
    let conf = format!(
        r#"# Written by tests/src/mailbox.rs for one recording.
base_dir = {d}/run
state_dir = {d}/state
instance_name = sensor-mailbox
log_path = {d}/dovecot.log
auth_verbose = yes
listen = {SERVER_ADDR}
protocols = pop3 imap
ssl = yes
ssl_cert = <{d}/cert.pem
ssl_key = <{d}/key.pem
ssl_dh = </usr/share/dovecot/dh.pem
disable_plaintext_auth = no
auth_mechanisms = plain login
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {d}/passwd
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {d}/passwd
}}
mail_location = maildir:{h}
mail_save_crlf = yes
namespace inbox {{
  inbox = yes
  separator = /
  mailbox Sent {{
    special_use = \Sent
    auto = subscribe
  }}
  mailbox Archive {{
    special_use = \Archive
    auto = subscribe
  }}
}}
service imap-login {{
  inet_listener imap {{
    port = {IMAP_PORT}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service pop3-login {{
  inet_listener pop3 {{
    port = {POP3_PORT}
  }}
  inet_listener pop3s {{
    port = 0
  }}
}}
"#
    );
    let path = dir.join("dovecot.conf");
    std::fs::write(&path, conf).map_err(|e| format!("writing {}: {e}", path.display()))
}

/// The client's argument file (see `client.py`).
fn client_args(dir: &Path, seeds: &[SeedMessage]) -> Value {
    let append = seeds
        .iter()
        .find(|s| s.mailbox == "Sent")
        .expect("a message to append");
    json!({
        "server": SERVER_ADDR,
        "client": CLIENT_ADDR,
        "pop3_port": POP3_PORT,
        "imap_port": IMAP_PORT,
        "user": USER,
        "password": PASSWORD,
        "manifest": dir.join("manifest.json"),
        "maildir": maildir(dir),
        "seeds": seeds.iter().filter(|s| s.mailbox != "Sent").map(|s| json!({
            "id": s.id, "mailbox": s.mailbox, "about": s.about, "path": s.path(dir),
        })).collect::<Vec<_>>(),
        "append": {
            "id": append.id, "mailbox": "Sent", "about": append.about,
            "path": dir.join("append.eml"),
        },
    })
}

/// The last non-empty line of a file, for error messages.
fn last_line(path: &Path) -> String {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .rfind(|l| !l.trim().is_empty())
        .unwrap_or("(nothing)")
        .to_string()
}

/// A process of the recording.
struct Proc {
    name: &'static str,
    child: Child,
}

/// The test bed and the processes in it: dropping it stops the processes
/// (SIGTERM, then SIGKILL) and then deletes the namespaces.
struct Run {
    procs: Vec<Proc>,
    bed: Testbed,
}

impl Run {
    /// Puts the addresses on the two ends of the veth.
    fn address(&self) -> Result<(), String> {
        let sides = [
            (&self.bed.cap_ns, &self.bed.cap_if, CLIENT_ADDR),
            (&self.bed.gen_ns, &self.bed.gen_if, SERVER_ADDR),
        ];
        for (ns, dev, addr) in sides {
            let out = Command::new("ip")
                .args(["-n", ns, "addr", "add", &format!("{addr}/24"), "dev", dev])
                .output()
                .map_err(|e| format!("cannot run ip: {e}"))?;
            if !out.status.success() {
                return Err(format!(
                    "ip addr add {addr} in {ns}: {}",
                    String::from_utf8_lossy(&out.stderr).trim()
                ));
            }
        }
        Ok(())
    }

    /// Starts `program` in the client (`client_side`) or server namespace,
    /// in `dir`, with stdout and stderr into `dir/log`. Returns its index.
    fn spawn_in(
        &mut self,
        client_side: bool,
        program: &'static str,
        args: &[&str],
        dir: &Path,
        log: &str,
    ) -> Result<usize, String> {
        let out = std::fs::File::create(dir.join(log))
            .map_err(|e| format!("creating {}: {e}", dir.join(log).display()))?;
        let err = out.try_clone().map_err(|e| format!("{log}: {e}"))?;
        let mut cmd = if client_side {
            self.bed.in_cap(program)
        } else {
            self.bed.in_gen(program)
        };
        cmd.args(args)
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err);
        let child = cmd
            .spawn()
            .map_err(|e| format!("cannot start {program}: {e}"))?;
        self.procs.push(Proc {
            name: program,
            child,
        });
        Ok(self.procs.len() - 1)
    }

    /// Waits until dovecot listens on `ports` of the server address.
    fn wait_listening(&mut self, i: usize, ports: &[u16], dir: &Path) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let listening = |port: u16| {
                self.bed
                    .in_gen("ss")
                    .args(["-Hlnt", &format!("src {SERVER_ADDR}:{port}")])
                    .output()
                    .is_ok_and(|o| !o.stdout.is_empty())
            };
            if ports.iter().all(|p| listening(*p)) {
                return Ok(());
            }
            if let Ok(Some(status)) = self.procs[i].child.try_wait() {
                let log = dir.join("dovecot.log");
                let why = if log.exists() {
                    last_line(&log)
                } else {
                    last_line(&dir.join("dovecot.stderr"))
                };
                return Err(format!("dovecot exited ({status}) before listening: {why}"));
            }
            if Instant::now() > deadline {
                return Err("dovecot did not listen on ports 110 and 143 within 20 s".into());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits until tcpdump says it is listening.
    fn wait_tcpdump(&mut self, i: usize, dir: &Path) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(20);
        let log = dir.join("tcpdump.stderr");
        loop {
            if std::fs::read_to_string(&log).is_ok_and(|t| t.contains("listening on")) {
                return Ok(());
            }
            if let Ok(Some(status)) = self.procs[i].child.try_wait() {
                return Err(format!(
                    "tcpdump exited ({status}) before capturing: {}",
                    last_line(&log)
                ));
            }
            if Instant::now() > deadline {
                return Err("tcpdump did not start capturing within 20 s".into());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits for process `i` to exit, killing it after `limit`.
    fn wait_exit(&mut self, i: usize, limit: Duration) -> Result<std::process::ExitStatus, String> {
        let deadline = Instant::now() + limit;
        let p = &mut self.procs[i];
        loop {
            match p.child.try_wait() {
                Ok(Some(status)) => return Ok(status),
                Ok(None) if Instant::now() > deadline => {
                    let _ = p.child.kill();
                    let _ = p.child.wait();
                    return Err(format!("{} did not finish within {limit:?}", p.name));
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(20)),
                Err(e) => return Err(format!("waiting for {}: {e}", p.name)),
            }
        }
    }

    /// Sends `signal` to process `i` and waits for it (10 s, then SIGKILL).
    fn stop(&mut self, i: usize, signal: libc::c_int) {
        let p = &mut self.procs[i];
        if let Ok(None) = p.child.try_wait() {
            // SAFETY: signalling our own child (`ip netns exec` execs the
            // program, so the child is the program itself).
            unsafe { libc::kill(p.child.id() as i32, signal) };
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = p.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = p.child.kill();
        let _ = p.child.wait();
    }
}

impl Drop for Run {
    fn drop(&mut self) {
        for i in (0..self.procs.len()).rev() {
            self.stop(i, libc::SIGTERM);
        }
        // `bed` is dropped after this: the namespaces go.
    }
}

/// A message of the recording: seeded into a mailbox, or (mailbox `Sent`)
/// appended by the client.
#[derive(Clone, Debug)]
pub struct SeedMessage {
    /// A short name, used in the manifest.
    pub id: &'static str,
    /// `INBOX`, `Archive`, or `Sent` for the message to append.
    pub mailbox: &'static str,
    /// What the message exercises.
    pub about: &'static str,
    /// Its bytes, every line ending in CRLF.
    pub bytes: Vec<u8>,
    /// Its place in the mailbox (Maildir file names sort in this order,
    /// which is the order dovecot numbers them in).
    pub position: u32,
}

impl SeedMessage {
    /// Where the message is written (the Maildir file; `append.eml` for the
    /// one to append).
    pub fn path(&self, dir: &Path) -> PathBuf {
        let folder = match self.mailbox {
            "INBOX" => maildir(dir),
            "Sent" => return dir.join("append.eml"),
            other => maildir(dir).join(format!(".{other}")),
        };
        let n = self.position;
        folder
            .join("cur")
            .join(format!("{}.M{n}P1.mailbox-test:2,", 1_700_000_000 + n))
    }
}

/// `text` with every `\n` made CRLF.
fn crlf(text: &str) -> Vec<u8> {
    text.replace('\n', "\r\n").into_bytes()
}

/// Base64 in lines of 76 characters, joined by `\n` (made CRLF by
/// [`crlf`]).
fn base64_lines(data: &[u8]) -> String {
    let text = base64::engine::general_purpose::STANDARD.encode(data);
    text.as_bytes()
        .chunks(76)
        .map(|c| std::str::from_utf8(c).expect("base64 is ASCII"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A 24×16 RGB PNG with a colour gradient, the same bytes every time.
pub fn png_image() -> Vec<u8> {
    use std::io::Write;
    let (w, h) = (24u32, 16u32);
    let mut raw = Vec::new();
    for y in 0..h {
        raw.push(0); // filter: none
        for x in 0..w {
            raw.extend([(x * 10) as u8, (y * 16) as u8, 0x80]);
        }
    }
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    z.write_all(&raw).expect("zlib in memory");
    let idat = z.finish().expect("zlib in memory");
    let mut ihdr = Vec::new();
    ihdr.extend(w.to_be_bytes());
    ihdr.extend(h.to_be_bytes());
    ihdr.extend([8, 2, 0, 0, 0]); // 8 bits, RGB, deflate, no filter, no interlace
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    for (kind, data) in [(b"IHDR", &ihdr), (b"IDAT", &idat), (b"IEND", &Vec::new())] {
        png.extend((data.len() as u32).to_be_bytes());
        png.extend(kind);
        png.extend(data);
        let mut crc = flate2::Crc::new();
        crc.update(kind);
        crc.update(data);
        png.extend(crc.sum().to_be_bytes());
    }
    png
}

/// A small PDF-like document with a binary stream (every byte value).
pub fn pdf_document() -> Vec<u8> {
    let mut pdf = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n\
1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n\
2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\n\
3 0 obj\n<< /Length 512 >>\nstream\n"
        .to_vec();
    pdf.extend((0..=255u8).chain((0..=255u8).rev()));
    pdf.extend(b"\nendstream\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n");
    pdf
}

/// The messages of a recording, the same bytes every time: five in INBOX,
/// one in Archive, and the one the client appends to Sent.
pub fn seed_messages() -> Vec<SeedMessage> {
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s.as_bytes());
    let plain_dots = crlf(
        "Return-Path: <bob@example.org>
From: Bob Sender <bob@example.org>
To: Alice <alice@example.net>
Subject: Plain text with dot lines
Date: Tue, 14 Nov 2023 10:00:00 +0000
Message-ID: <plain-dots@example.org>
MIME-Version: 1.0
Content-Type: text/plain; charset=us-ascii
Content-Transfer-Encoding: 7bit

Hello Alice,

the next lines begin with dots, which POP3 has to stuff:
.hidden line
..two dots
.
. a dot and a space

(the lone dot above would end a POP3 reply if it were not stuffed)
Bob
",
    );
    let mixed_png = crlf(&format!(
        "From: Carol <carol@example.org>
To: Alice <alice@example.net>
Subject: Chart and notes attached
Date: Tue, 14 Nov 2023 11:00:00 +0000
Message-ID: <mixed-png@example.org>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary=\"b1-mixed-png\"

This is a multi-part message in MIME format.

--b1-mixed-png
Content-Type: text/plain; charset=us-ascii
Content-Transfer-Encoding: 7bit

Hi Alice, the chart and my notes are attached.
Carol

--b1-mixed-png
Content-Type: image/png; name=\"chart.png\"
Content-Transfer-Encoding: base64
Content-Disposition: attachment; filename=\"chart.png\"

{png}
--b1-mixed-png
Content-Type: text/plain; charset=us-ascii; name=\"notes.txt\"
Content-Transfer-Encoding: 7bit
Content-Disposition: attachment; filename=\"notes.txt\"

Notes for the meeting
1. budget
2. schedule
--b1-mixed-png--
",
        png = base64_lines(&png_image())
    ));
    let html_forward = crlf(
        "From: Dave <dave@example.org>
To: Alice <alice@example.net>
Subject: Fwd: the original request
Date: Tue, 14 Nov 2023 12:00:00 +0000
Message-ID: <html-forward@example.org>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary=\"b2-outer\"

--b2-outer
Content-Type: text/html; charset=utf-8
Content-Transfer-Encoding: quoted-printable

<html><body><p style=3D\"color: navy\">Bonjour Alice, voici le message d'=
origine =E2=80=94 <b>merci</b> =C3=A0 toi.</p>
<p>Une ligne tr=C3=A8s longue qui est coup=C3=A9e en plusieurs morceaux par=
 l'encodage quoted-printable, comme il se doit.</p></body></html>
--b2-outer
Content-Type: message/rfc822; name=\"forwarded.eml\"
Content-Disposition: attachment; filename=\"forwarded.eml\"

From: Erin <erin@example.com>
To: Dave <dave@example.org>
Subject: The original request
Date: Mon, 13 Nov 2023 09:00:00 +0000
Message-ID: <original@example.com>
MIME-Version: 1.0
Content-Type: text/plain; charset=us-ascii

Dave, could you send Alice the figures?
Erin
--b2-outer--
",
    );
    let utf8 = crlf(&format!(
        "From: =?UTF-8?Q?J=C3=B6rg_M=C3=BCller?= <joerg@example.org>
To: Alice <alice@example.net>
Subject: =?UTF-8?B?{subject}?=
X-Comment: Grüße aus Köln, raw UTF-8 in a header
Date: Tue, 14 Nov 2023 13:00:00 +0100
Message-ID: <utf8@example.org>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

Hallo Alice,

schöne Grüße aus Köln! Ça va? 日本語のテキストも少し。
.Diese Zeile beginnt mit einem Punkt.
Jörg
",
        subject = b64("Grüße aus Köln ✉")
    ));
    let alternative = crlf(
        "From: Frank <frank@example.org>
To: Alice <alice@example.net>
Subject: Alternative bodies over TLS
Date: Tue, 14 Nov 2023 14:00:00 +0000
Message-ID: <alternative@example.org>
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary=\"b3-alt\"

--b3-alt
Content-Type: text/plain; charset=us-ascii
Content-Transfer-Encoding: 7bit

This one is only ever fetched through TLS.

--b3-alt
Content-Type: text/html; charset=us-ascii
Content-Transfer-Encoding: 7bit

<html><body><p>This one is only ever fetched through TLS.</p></body></html>

--b3-alt--
",
    );
    let ledger = "date,amount,payee\n2023-11-01,12.50,Bakery\n2023-11-02,80.00,Garage\n"
        .replace('\n', "\r\n");
    let archived = crlf(&format!(
        "From: Grace <grace@example.org>
To: Alice <alice@example.net>
Subject: October ledger
Date: Wed, 01 Nov 2023 08:00:00 +0000
Message-ID: <archived-csv@example.org>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary=\"b4-ledger\"

--b4-ledger
Content-Type: text/plain; charset=us-ascii

The ledger for October.

--b4-ledger
Content-Type: text/csv; name=\"ledger.csv\"
Content-Transfer-Encoding: base64
Content-Disposition: attachment; filename=\"ledger.csv\"

{csv}
--b4-ledger--
",
        csv = base64_lines(ledger.as_bytes())
    ));
    let sent_pdf = crlf(&format!(
        "From: Alice <alice@example.net>
To: Bob Sender <bob@example.org>
Subject: The report you asked for
Date: Wed, 15 Nov 2023 09:30:00 +0000
Message-ID: <sent-pdf@example.net>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary=\"b5-report\"

--b5-report
Content-Type: text/plain; charset=us-ascii
Content-Transfer-Encoding: 7bit

Bob, the report is attached.
Alice

--b5-report
Content-Type: application/pdf; name=\"report.pdf\"
Content-Transfer-Encoding: base64
Content-Disposition: attachment; filename=\"report.pdf\"

{pdf}
--b5-report--
",
        pdf = base64_lines(&pdf_document())
    ));
    let m = |id, mailbox, position, about, bytes| SeedMessage {
        id,
        mailbox,
        about,
        bytes,
        position,
    };
    vec![
        m(
            "plain-dots",
            "INBOX",
            1,
            "plain text with lines beginning with dots (POP3 dot-stuffing)",
            plain_dots,
        ),
        m(
            "mixed-png",
            "INBOX",
            2,
            "multipart/mixed: text body, base64 PNG and text/plain attachments",
            mixed_png,
        ),
        m(
            "html-forward",
            "INBOX",
            3,
            "quoted-printable HTML body and an attached message/rfc822",
            html_forward,
        ),
        m(
            "utf8",
            "INBOX",
            4,
            "UTF-8 headers (encoded words and raw) and an 8bit UTF-8 body",
            utf8,
        ),
        m(
            "alternative",
            "INBOX",
            5,
            "multipart/alternative, fetched only over TLS",
            alternative,
        ),
        m(
            "archived-csv",
            "Archive",
            1,
            "in Archive: a base64 text/csv attachment",
            archived,
        ),
        m(
            "sent-pdf",
            "Sent",
            1,
            "appended to Sent: a base64 PDF attachment",
            sent_pdf,
        ),
    ]
}
