//! The Debian package made by `cargo xtask package`: its control fields and
//! contents, its systemd unit as systemd reads it, and the package installed,
//! reinstalled, removed and purged in a throwaway root by dpkg itself
//! (chrootless maintainer scripts: nothing on this host is touched).
//!
//! Needs root (`useradd --root` chroots); skipped when not root only with
//! SENSOR_SKIP_LIVE set.

use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Instant;

use bench::testbed::Testbed;
use tests::servers::ensure_installed;
use tests::temp_dir;

/// Capabilities the unit gives the sensor (attaching XDP, AF_XDP sockets,
/// handing its folders over, switching user).
const CAPABILITIES: [&str; 10] = [
    "cap_net_admin",
    "cap_bpf",
    "cap_perfmon",
    "cap_sys_admin",
    "cap_ipc_lock",
    "cap_net_raw",
    "cap_dac_override",
    "cap_chown",
    "cap_setuid",
    "cap_setgid",
];

/// Every entry of the package: path, `ls -l` mode.
const CONTENTS: [(&str, &str); 16] = [
    ("./", "drwxr-xr-x"),
    ("./etc/", "drwxr-xr-x"),
    ("./etc/sensor/", "drwxr-xr-x"),
    ("./etc/sensor/sensor.conf", "-rw-r-----"),
    ("./lib/", "drwxr-xr-x"),
    ("./lib/systemd/", "drwxr-xr-x"),
    ("./lib/systemd/system/", "drwxr-xr-x"),
    ("./lib/systemd/system/sensor.service", "-rw-r--r--"),
    ("./usr/", "drwxr-xr-x"),
    ("./usr/bin/", "drwxr-xr-x"),
    ("./usr/bin/sensor", "-rwxr-xr-x"),
    ("./usr/share/", "drwxr-xr-x"),
    ("./usr/share/doc/", "drwxr-xr-x"),
    ("./usr/share/doc/sensor/", "drwxr-xr-x"),
    ("./usr/share/doc/sensor/README.md.gz", "-rw-r--r--"),
    ("./usr/share/doc/sensor/copyright", "-rw-r--r--"),
];

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

/// Runs `cmd`, returns its output; panics with its stderr when it fails.
fn ok(cmd: &mut Command) -> Output {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn stdout(cmd: &mut Command) -> String {
    String::from_utf8(ok(cmd).stdout).expect("UTF-8 output")
}

/// `dpkg` acting on the throwaway root, running the maintainer scripts
/// outside a chroot with DPKG_ROOT set (as the scripts are written to).
fn dpkg(root: &Path) -> Command {
    let mut cmd = Command::new("dpkg");
    cmd.arg(format!("--root={}", root.display()))
        .args(["--force-script-chrootless", "--force-not-root"]);
    cmd
}

/// The fields of a control file (continuation lines dropped).
fn control_fields(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter(|l| !l.starts_with(' '))
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.to_string(), v.trim().to_string()))
        .collect()
}

/// The third field of `name`'s line in a passwd- or group-format file.
fn file_id(file: &Path, name: &str) -> Option<u32> {
    std::fs::read_to_string(file)
        .unwrap_or_default()
        .lines()
        .map(|l| l.split(':').collect::<Vec<_>>())
        .find(|f| f[0] == name)
        .map(|f| f[2].parse().expect("a numeric id"))
}

fn root_or_skip() -> bool {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        return true;
    }
    if std::env::var_os("SENSOR_SKIP_LIVE").is_some() {
        eprintln!("package test skipped: not root");
        return false;
    }
    panic!(
        "the package test needs root (useradd --root chroots into the throwaway root); \
         set SENSOR_SKIP_LIVE=1 to skip it knowingly"
    );
}

#[test]
fn debian_package_installs_runs_and_purges() {
    if !root_or_skip() {
        return;
    }
    ensure_installed("dpkg-shlibdeps", &["dpkg-dev"]);
    ensure_installed("strip", &["binutils"]);
    ensure_installed("systemd-analyze", &["systemd"]);
    ensure_installed("kill", &["procps"]);
    let started = Instant::now();
    let tmp = temp_dir("package");
    let host_user = file_id(Path::new("/etc/passwd"), "sensor");
    let host_logs = Path::new("/var/log/sensor").exists();

    // Build.
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = stdout(
        Command::new(cargo)
            .current_dir(workspace())
            // The debug build the suite made: the packaging is what is
            // checked here (`cargo xtask package` packs the release build).
            .args(["xtask", "package", "--debug"])
            .stderr(Stdio::inherit()),
    );
    let deb = out
        .lines()
        .find_map(|l| l.strip_prefix("xtask: package: "))
        .map(PathBuf::from)
        .unwrap_or_else(|| panic!("no `xtask: package:` line in:\n{out}"));
    eprintln!("package built in {:.1} s", started.elapsed().as_secs_f64());

    // Control fields.
    let arch = stdout(Command::new("dpkg").arg("--print-architecture"));
    let fields = control_fields(&stdout(Command::new("dpkg-deb").arg("-f").arg(&deb)));
    let version = fields["Version"].clone();
    assert_eq!(fields["Package"], "sensor");
    assert_eq!(fields["Architecture"], arch.trim());
    assert_eq!(
        deb.file_name().unwrap().to_string_lossy(),
        format!("sensor_{version}_{}.deb", arch.trim())
    );
    assert!(fields["Maintainer"].contains('<'), "{fields:?}");
    assert!(
        fields["Installed-Size"].parse::<u64>().unwrap() > 1000,
        "{fields:?}"
    );
    let depends = &fields["Depends"];
    for dep in ["libc6 (>= ", "zlib1g", "passwd", "procps"] {
        assert!(depends.contains(dep), "Depends lacks {dep}: {depends}");
    }
    assert!(!fields["Description"].is_empty());
    let info = stdout(Command::new("dpkg-deb").arg("--info").arg(&deb));
    for member in [
        "control",
        "conffiles",
        "md5sums",
        "postinst",
        "prerm",
        "postrm",
    ] {
        assert!(info.contains(&format!(" {member} ")), "{member}:\n{info}");
    }
    let conffiles = stdout(
        Command::new("dpkg-deb")
            .arg("-I")
            .arg(&deb)
            .arg("conffiles"),
    );
    assert_eq!(conffiles, "/etc/sensor/sensor.conf\n");
    let control_dir = tmp.join("DEBIAN");
    ok(Command::new("dpkg-deb")
        .arg("-e")
        .arg(&deb)
        .arg(&control_dir));
    for script in ["postinst", "prerm", "postrm"] {
        let path = control_dir.join(script);
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o7777;
        assert_eq!(mode, 0o755, "{script} mode {mode:o}");
        ok(Command::new("sh").arg("-n").arg(&path));
    }

    // Contents: exactly these entries, root-owned, with these modes.
    let listing = stdout(Command::new("dpkg-deb").arg("-c").arg(&deb));
    let mut entries = BTreeMap::new();
    for line in listing.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(f.len(), 6, "unexpected line {line:?}");
        assert_eq!(f[1], "root/root", "{line}");
        entries.insert(f[5].to_string(), f[0].to_string());
    }
    let expected: BTreeMap<String, String> = CONTENTS
        .iter()
        .map(|(p, m)| (p.to_string(), m.to_string()))
        .collect();
    assert_eq!(entries, expected, "dpkg-deb -c:\n{listing}");

    // The unit as systemd reads it.
    let extracted = tmp.join("extracted");
    ok(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&extracted));
    check_unit(&extracted);

    // apt would resolve the dependencies on this host (a simulation).
    let sim = stdout(
        Command::new("apt-get")
            .args(["-s", "install"])
            .arg(&deb)
            .env("DEBIAN_FRONTEND", "noninteractive"),
    );
    assert!(
        sim.contains(&format!("Inst sensor ({version}")),
        "apt-get -s install:\n{sim}"
    );

    // Install into a throwaway root: an empty dpkg database, this host's
    // users and groups (useradd --root adds to them), the shell the user
    // gets. --force-depends: the empty database has none of the Depends
    // (the simulation above checked them against this host).
    let root = tmp.join("root");
    for dir in [
        "var/lib/dpkg/info",
        "var/lib/dpkg/updates",
        "etc",
        "usr/sbin",
    ] {
        std::fs::create_dir_all(root.join(dir)).unwrap();
    }
    std::fs::write(root.join("var/lib/dpkg/status"), "").unwrap();
    for file in ["etc/passwd", "etc/group", "usr/sbin/nologin"] {
        std::fs::copy(Path::new("/").join(file), root.join(file)).unwrap();
    }
    assert_eq!(file_id(&root.join("etc/passwd"), "sensor"), None);
    let install = || {
        ok(dpkg(&root).arg("--force-depends").arg("-i").arg(&deb));
    };
    install();
    assert!(file_id(&root.join("etc/group"), "sensor").is_some());
    let uid = file_id(&root.join("etc/passwd"), "sensor").expect("the sensor user");
    let gid = file_id(&root.join("etc/group"), "sensor").unwrap();
    let passwd = std::fs::read_to_string(root.join("etc/passwd")).unwrap();
    let entry = passwd.lines().find(|l| l.starts_with("sensor:")).unwrap();
    assert!(
        entry.ends_with(":/var/lib/sensor:/usr/sbin/nologin"),
        "{entry}"
    );
    assert!(uid < 1000, "not a system user: {entry}");
    let sensor_dirs = ["var/log/sensor", "var/lib/sensor", "var/lib/sensor/spool"];
    for dir in sensor_dirs {
        let meta = std::fs::metadata(root.join(dir)).unwrap_or_else(|e| panic!("{dir}: {e}"));
        assert!(meta.is_dir());
        assert_eq!((meta.uid(), meta.gid()), (uid, gid), "{dir} owner");
        assert_eq!(meta.mode() & 0o7777, 0o750, "{dir} mode");
    }
    let conf = root.join("etc/sensor/sensor.conf");
    assert_eq!(
        std::fs::read_to_string(&conf).unwrap(),
        std::fs::read_to_string(workspace().join("deploy/sensor.conf")).unwrap()
    );
    let status = stdout(dpkg(&root).args(["-s", "sensor"]));
    assert!(status.contains("Status: install ok installed"), "{status}");
    // Every installed file matches the package's md5sums.
    assert_eq!(stdout(dpkg(&root).args(["--verify", "sensor"])), "");
    let bin = root.join("usr/bin/sensor");
    assert_eq!(
        stdout(Command::new(&bin).arg("--version")).trim(),
        format!("sensor {}", version.replace('~', "-"))
    );
    check_config(&bin, &conf, &tmp);
    check_privileges(&bin, &conf, &tmp);

    // Reinstalling (what an upgrade runs) keeps the user and directories.
    std::fs::write(root.join("var/log/sensor/conn.log"), "{}\n").unwrap();
    install();
    assert_eq!(file_id(&root.join("etc/passwd"), "sensor"), Some(uid));
    assert_eq!(
        std::fs::read_to_string(root.join("etc/passwd"))
            .unwrap()
            .matches("\nsensor:")
            .count(),
        1
    );

    // Remove: binary and unit go; configuration, logs and spool stay.
    ok(dpkg(&root).args(["-r", "sensor"]));
    assert!(!bin.exists());
    assert!(!root.join("lib/systemd/system/sensor.service").exists());
    assert!(conf.exists());
    assert!(root.join("var/log/sensor/conn.log").exists());
    assert!(root.join("var/lib/sensor/spool").is_dir());
    let status = stdout(dpkg(&root).args(["-s", "sensor"]));
    assert!(
        status.contains("Status: deinstall ok config-files"),
        "{status}"
    );

    // Purge: configuration, logs and spool go; the user and group stay.
    ok(dpkg(&root).args(["-P", "sensor"]));
    for gone in ["etc/sensor", "var/log/sensor", "var/lib/sensor"] {
        assert!(!root.join(gone).exists(), "{gone} left after purge");
    }
    assert_eq!(file_id(&root.join("etc/passwd"), "sensor"), Some(uid));
    assert_eq!(file_id(&root.join("etc/group"), "sensor"), Some(gid));
    let out = dpkg(&root).args(["-s", "sensor"]).output().unwrap();
    assert!(!out.status.success(), "sensor still known to dpkg");

    assert_eq!(
        file_id(Path::new("/etc/passwd"), "sensor"),
        host_user,
        "the maintainer scripts changed this host's users"
    );
    assert_eq!(Path::new("/var/log/sensor").exists(), host_logs);
    eprintln!("package test took {:.1} s", started.elapsed().as_secs_f64());
    let _ = std::fs::remove_dir_all(&tmp);
}

/// `systemd-analyze verify` on the unit inside the extracted package: it
/// must say nothing (systemd only warns about unknown keys, bad values and
/// missing programs), and systemd's own dump of the loaded unit must show
/// the settings it was meant to have (an unknown capability name is dropped
/// without a warning).
fn check_unit(extracted: &Path) {
    // What the unit meets on a host: systemd's own units (sysinit.target,
    // ...) and /bin/kill of procps, a dependency (ExecReload).
    let units = extracted.join("usr/lib/systemd");
    std::fs::create_dir_all(&units).unwrap();
    ok(Command::new("cp")
        .arg("-a")
        .arg("/lib/systemd/system")
        .arg(&units));
    let _ = std::fs::remove_file(units.join("system/sensor.service"));
    std::fs::create_dir_all(extracted.join("bin")).unwrap();
    std::fs::copy("/bin/kill", extracted.join("bin/kill")).unwrap();

    let verify = |level: &str| {
        let out = Command::new("systemd-analyze")
            .arg("verify")
            .arg(format!("--root={}", extracted.display()))
            .arg("/lib/systemd/system/sensor.service")
            .env("SYSTEMD_LOG_LEVEL", level)
            .output()
            .expect("systemd-analyze");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.success(), text, out.stdout)
    };
    let (success, text, _) = verify("info");
    assert!(
        success && text.is_empty(),
        "systemd-analyze verify:\n{text}"
    );

    let (success, _, dump) = verify("debug");
    assert!(success);
    let dump = String::from_utf8_lossy(&dump);
    let unit: BTreeMap<&str, &str> = dump
        .lines()
        .skip_while(|l| !l.contains("-> Unit sensor.service:"))
        .skip(1)
        .take_while(|l| !l.contains("-> Unit "))
        .filter_map(|l| l.trim().split_once(": "))
        .collect();
    let expected = [
        ("Type", "simple"),
        ("Restart", "on-failure"),
        ("RestartSec", "5s"),
        ("ProtectSystem", "strict"),
        ("ProtectHome", "yes"),
        ("PrivateTmp", "yes"),
        ("ProtectKernelModules", "yes"),
        ("ProtectControlGroups", "yes"),
        ("RestrictRealtime", "yes"),
        ("LockPersonality", "yes"),
        ("SystemCallArchitectures", "native"),
        ("ReadWritePaths", "/var/log/sensor /var/lib/sensor"),
        ("LimitMEMLOCK", &u64::MAX.to_string()),
        ("UMask", "0027"),
    ];
    for (key, value) in expected {
        assert_eq!(unit.get(key).copied(), Some(value), "{key} in:\n{dump}");
    }
    let caps: BTreeSet<&str> = CAPABILITIES.into_iter().collect();
    for key in ["AmbientCapabilities", "CapabilityBoundingSet"] {
        let set: BTreeSet<&str> = unit[key].split(' ').collect();
        assert_eq!(set, caps, "{key}");
    }
    assert!(
        dump.contains("Command Line: /usr/bin/sensor run --config /etc/sensor/sensor.conf"),
        "{dump}"
    );
    assert!(dump.contains("Command Line: /bin/kill -HUP"), "{dump}");
}

/// Every setting of the shipped configuration is one `sensor run` takes
/// today: with an interface that does not exist, the sensor gets past the
/// options (status 2 is a usage or configuration error) and fails on the
/// interface (status 1). So do the commented examples once uncommented,
/// except the outputs (which would be contacted) and the metrics endpoint.
fn check_config(bin: &Path, conf: &Path, tmp: &Path) {
    let text = std::fs::read_to_string(conf).unwrap();
    for line in [
        "user = sensor",
        "#metrics = 127.0.0.1:9917",
        "#iface = eth1",
    ] {
        assert!(text.lines().any(|l| l == line), "{line} missing");
    }
    let examples: String = text
        .lines()
        .map(|l| {
            let example = ["#iface = ", "#cores = ", "#ports = ", "#drop-unmatched"]
                .iter()
                .any(|p| l.starts_with(p));
            let line = if example { &l[1..] } else { l };
            format!("{line}\n")
        })
        .collect();
    for expect in [
        "\niface = eth1\n",
        "\ncores = ",
        "\nports = ",
        "\ndrop-unmatched\n",
    ] {
        assert!(examples.contains(expect), "{expect:?} not uncommented");
    }
    let with_examples = tmp.join("examples.conf");
    std::fs::write(&with_examples, examples).unwrap();
    for conf in [conf, with_examples.as_path()] {
        let out = Command::new(bin)
            .arg("run")
            .arg("--config")
            .arg(conf)
            .args(["--iface", "sensor-noif0"])
            .arg("--log-dir")
            .arg(tmp.join("logs"))
            .arg("--spool-dir")
            .arg(tmp.join("spool"))
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{}: {err}", conf.display());
        assert!(err.contains("sensor-noif0"), "{}: {err}", conf.display());
    }
}

/// The packaged sensor runs with no more privilege than the unit gives it:
/// only the unit's capabilities (bounding set), no new privileges, and its
/// log and spool folders owned by another user, mode 0750, as postinst
/// makes them for `sensor`. It must attach, switch to that user and write
/// its logs as that user. (The locked-memory limit stays this process's:
/// raising it to the unit's `infinity` takes CAP_SYS_RESOURCE, which test
/// machines may not have; CAP_IPC_LOCK, in the unit's set, covers it.)
fn check_privileges(bin: &Path, conf: &Path, tmp: &Path) {
    ensure_installed("setpriv", &["util-linux"]);
    let uid = file_id(Path::new("/etc/passwd"), "nobody").expect("user nobody");
    let gid = file_id(Path::new("/etc/group"), "nogroup").expect("group nogroup");
    let (log, spool) = (tmp.join("run/log"), tmp.join("run/spool"));
    for dir in [&log, &spool] {
        std::fs::create_dir_all(dir).unwrap();
        std::os::unix::fs::chown(dir, Some(uid), Some(gid)).unwrap();
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o750)).unwrap();
    }
    let caps: Vec<String> = CAPABILITIES
        .iter()
        .map(|c| format!("+{}", c.trim_start_matches("cap_")))
        .collect();
    let bed = Testbed::create(&format!("p{}", tests::live::tag()), 1500).expect("test bed");
    let out = bed
        .in_cap("setpriv")
        .arg(format!("--bounding-set=-all,{}", caps.join(",")))
        .args(["--inh-caps=-all", "--no-new-privs", "--"])
        .arg(bin)
        .arg("run")
        .arg("--config")
        .arg(conf)
        .args(["--iface", &bed.cap_if, "--xdp-generic", "--duration", "2"])
        .args(["--user", "nobody", "--log-dir"])
        .arg(&log)
        .arg("--spool-dir")
        .arg(&spool)
        .stdin(Stdio::null())
        .output()
        .expect("running the sensor");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the sensor did not run with the unit's capabilities ({}): {err}",
        out.status
    );
    let mut written = Vec::new();
    let mut dirs = vec![log.clone()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let meta = entry.metadata().unwrap();
            if meta.is_dir() {
                dirs.push(entry.path());
            } else {
                assert_eq!(meta.uid(), uid, "{} not the user's", entry.path().display());
                written.push(entry.path());
            }
        }
    }
    assert!(!written.is_empty(), "no log written: {err}");
}
