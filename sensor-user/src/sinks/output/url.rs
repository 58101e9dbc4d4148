//! `--output` destinations, written as URLs:
//!
//! ```text
//! syslog+tcp://HOST:PORT[?facility=local0&severity=info&app=sensor]
//! syslog+tls://HOST:PORT[?ca=FILE&name=TLS-NAME&...]
//! syslog+udp://HOST:PORT[?max=2048&...]
//! kafka://BROKER[,BROKER...]/TOPIC[?librdkafka.property=value&...]
//! redis://[[USER]:PASSWORD@]HOST:PORT/KEY[?type=list|stream&maxlen=N&db=N]
//! ```
//!
//! A `{path}` in a Kafka topic or a Redis key is replaced by the log's name
//! (`sensor-{path}` gives `sensor-conn`, `sensor-smtp`, ...): one topic or
//! key per log.

use std::fmt;

/// Syslog transport.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyslogTransport {
    /// TCP with octet-counting framing (RFC 6587).
    Tcp,
    /// TLS (RFC 5425), octet-counting framing.
    Tls,
    /// UDP (RFC 5426), one message per datagram.
    Udp,
}

/// A syslog destination.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyslogSpec {
    /// How messages travel.
    pub transport: SyslogTransport,
    /// Host name or address.
    pub host: String,
    /// Port.
    pub port: u16,
    /// RFC 5424 facility number (default 16, local0).
    pub facility: u8,
    /// RFC 5424 severity number (default 6, informational).
    pub severity: u8,
    /// APP-NAME (default `sensor`).
    pub app: String,
    /// Largest UDP datagram (default 2048, the size RFC 5426 says every
    /// receiver should take); larger records are counted and not sent.
    pub max_datagram: usize,
    /// CA bundle for TLS (overrides `--ca`).
    pub ca: Option<String>,
    /// Name the server certificate must carry (default: `host`).
    pub tls_name: Option<String>,
}

/// A Kafka destination.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KafkaSpec {
    /// Bootstrap brokers, `host:port`.
    pub brokers: Vec<String>,
    /// Topic, with `{path}` for one topic per log.
    pub topic: String,
    /// Extra librdkafka properties.
    pub properties: Vec<(String, String)>,
}

/// How records are stored in Redis.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RedisType {
    /// `RPUSH key record` (as Suricata's eve redis output).
    List,
    /// `XADD key MAXLEN ~ N * log <name> record`.
    Stream,
}

/// A Redis destination.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RedisSpec {
    /// Host name or address.
    pub host: String,
    /// Port.
    pub port: u16,
    /// Key, with `{path}` for one key per log.
    pub key: String,
    /// List or stream.
    pub kind: RedisType,
    /// Approximate cap of a stream's length (0: none).
    pub maxlen: u64,
    /// Database number (`SELECT`).
    pub db: u32,
    /// `AUTH` user, if any.
    pub user: Option<String>,
    /// `AUTH` password, if any.
    pub password: Option<String>,
}

/// Where an output sends records.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Destination {
    /// Syslog.
    Syslog(SyslogSpec),
    /// Kafka.
    Kafka(KafkaSpec),
    /// Redis.
    Redis(RedisSpec),
}

impl Destination {
    /// A short name of the kind of destination.
    pub fn kind(&self) -> &'static str {
        match self {
            Destination::Syslog(_) => "syslog",
            Destination::Kafka(_) => "kafka",
            Destination::Redis(_) => "redis",
        }
    }
}

/// A parsed `--output`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutputSpec {
    /// The destination.
    pub dest: Destination,
    /// The URL as given, without a password: the output's name in
    /// stats.log and messages.
    pub name: String,
    /// A file-name-safe form of the name: the output's spool folder.
    pub id: String,
}

impl fmt::Display for OutputSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

impl std::str::FromStr for OutputSpec {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let (scheme, rest) = s.split_once("://").ok_or_else(|| {
            format!("--output {s:?}: expected a URL such as syslog+tcp://HOST:PORT, kafka://BROKER/TOPIC or redis://HOST:PORT/KEY")
        })?;
        let (body, query) = match rest.split_once('?') {
            Some((b, q)) => (b, q),
            None => (rest, ""),
        };
        let params = parse_query(query).map_err(|e| format!("--output {s:?}: {e}"))?;
        let err = |e: String| format!("--output {s:?}: {e}");
        let (dest, name) = match scheme.to_ascii_lowercase().as_str() {
            "syslog+tcp" | "syslog" => (
                syslog(SyslogTransport::Tcp, body, &params).map_err(err)?,
                s.to_string(),
            ),
            "syslog+tls" => (
                syslog(SyslogTransport::Tls, body, &params).map_err(err)?,
                s.to_string(),
            ),
            "syslog+udp" => (
                syslog(SyslogTransport::Udp, body, &params).map_err(err)?,
                s.to_string(),
            ),
            "kafka" => (kafka(body, &params).map_err(err)?, s.to_string()),
            "redis" => {
                let (dest, shown) = redis(body, &params).map_err(err)?;
                let q = if query.is_empty() {
                    String::new()
                } else {
                    format!("?{query}")
                };
                (dest, format!("redis://{shown}{q}"))
            }
            other => {
                return Err(format!(
                    "--output {s:?}: unknown scheme {other:?} (use syslog+tcp, syslog+tls, syslog+udp, kafka or redis)"
                ))
            }
        };
        let id = name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                    c
                } else {
                    '_'
                }
            })
            .collect::<String>()
            .chars()
            .take(120)
            .collect();
        Ok(OutputSpec { dest, name, id })
    }
}

fn parse_query(q: &str) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    for part in q.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = part
            .split_once('=')
            .ok_or_else(|| format!("option {part:?} needs a value (name=value)"))?;
        out.push((k.to_string(), percent_decode(v)?));
    }
    Ok(out)
}

fn percent_decode(s: &str) -> Result<String, String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| format!("bad %-escape in {s:?}"))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| format!("{s:?} is not UTF-8"))
}

/// Splits `HOST:PORT` (`[v6]:PORT` for IPv6).
fn host_port(s: &str) -> Result<(String, u16), String> {
    let (host, port) = if let Some(rest) = s.strip_prefix('[') {
        let (h, p) = rest
            .split_once("]:")
            .ok_or_else(|| format!("{s:?}: expected [ADDRESS]:PORT"))?;
        (h, p)
    } else {
        s.rsplit_once(':')
            .ok_or_else(|| format!("{s:?}: expected HOST:PORT"))?
    };
    let port: u16 = port
        .parse()
        .ok()
        .filter(|p| *p != 0)
        .ok_or_else(|| format!("{port:?} is not a port"))?;
    if host.is_empty() {
        return Err(format!("{s:?}: no host"));
    }
    Ok((host.to_string(), port))
}

fn get<'a>(params: &'a [(String, String)], key: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

const FACILITIES: [&str; 24] = [
    "kern",
    "user",
    "mail",
    "daemon",
    "auth",
    "syslog",
    "lpr",
    "news",
    "uucp",
    "cron",
    "authpriv",
    "ftp",
    "ntp",
    "security",
    "console",
    "solaris-cron",
    "local0",
    "local1",
    "local2",
    "local3",
    "local4",
    "local5",
    "local6",
    "local7",
];

const SEVERITIES: [&str; 8] = [
    "emerg", "alert", "crit", "err", "warning", "notice", "info", "debug",
];

fn syslog(
    transport: SyslogTransport,
    body: &str,
    params: &[(String, String)],
) -> Result<Destination, String> {
    let (host, port) = host_port(body.trim_end_matches('/'))?;
    let pick = |key: &str, names: &[&str], default: u8| -> Result<u8, String> {
        match get(params, key) {
            None => Ok(default),
            Some(v) => names
                .iter()
                .position(|n| n.eq_ignore_ascii_case(v))
                .or_else(|| v.parse::<usize>().ok().filter(|n| *n < names.len()))
                .map(|n| n as u8)
                .ok_or_else(|| format!("{key}={v:?}: expected one of {}", names.join(", "))),
        }
    };
    let app = get(params, "app").unwrap_or("sensor").to_string();
    if app.is_empty() || app.len() > 48 || !app.bytes().all(|c| (33..=126).contains(&c)) {
        return Err(format!(
            "app={app:?}: 1 to 48 printable ASCII characters (RFC 5424 APP-NAME)"
        ));
    }
    let max_datagram = match get(params, "max") {
        None => 2048,
        Some(v) => v
            .parse::<usize>()
            .ok()
            .filter(|n| (480..=65_507).contains(n))
            .ok_or_else(|| format!("max={v:?}: a datagram size from 480 to 65507"))?,
    };
    for (k, _) in params {
        if !["facility", "severity", "app", "max", "ca", "name"].contains(&k.as_str()) {
            return Err(format!(
                "unknown syslog option {k:?} (facility, severity, app, max, ca, name)"
            ));
        }
    }
    Ok(Destination::Syslog(SyslogSpec {
        transport,
        host,
        port,
        facility: pick("facility", &FACILITIES, 16)?,
        severity: pick("severity", &SEVERITIES, 6)?,
        app,
        max_datagram,
        ca: get(params, "ca").map(String::from),
        tls_name: get(params, "name").map(String::from),
    }))
}

fn kafka(body: &str, params: &[(String, String)]) -> Result<Destination, String> {
    let (brokers, topic) = body
        .split_once('/')
        .ok_or_else(|| "expected kafka://BROKER[,BROKER]/TOPIC".to_string())?;
    let brokers: Vec<String> = brokers
        .split(',')
        .map(|b| host_port(b).map(|_| b.to_string()))
        .collect::<Result<_, _>>()?;
    if topic.is_empty()
        || !topic
            .replace("{path}", "")
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || b"._-".contains(&c))
    {
        return Err(format!(
            "topic {topic:?}: letters, digits, '.', '_', '-' and {{path}}"
        ));
    }
    for (k, _) in params {
        if !k.contains('.') {
            return Err(format!(
                "Kafka option {k:?}: options are librdkafka properties such as compression.type"
            ));
        }
    }
    Ok(Destination::Kafka(KafkaSpec {
        brokers,
        topic: topic.to_string(),
        properties: params.to_vec(),
    }))
}

/// Parses a Redis URL body; returns the destination and the body as shown
/// (password hidden).
fn redis(body: &str, params: &[(String, String)]) -> Result<(Destination, String), String> {
    let (auth, rest) = match body.rsplit_once('@') {
        Some((a, r)) => (Some(a), r),
        None => (None, body),
    };
    let (addr, key) = rest
        .split_once('/')
        .ok_or_else(|| "expected redis://HOST:PORT/KEY".to_string())?;
    let (host, port) = host_port(addr)?;
    if key.is_empty() {
        return Err("no key (redis://HOST:PORT/KEY)".into());
    }
    let (user, password) = match auth {
        None => (None, None),
        Some(a) => match a.split_once(':') {
            Some((u, p)) => (
                (!u.is_empty()).then(|| percent_decode(u)).transpose()?,
                Some(percent_decode(p)?),
            ),
            None => (None, Some(percent_decode(a)?)),
        },
    };
    let kind = match get(params, "type").unwrap_or("list") {
        "list" => RedisType::List,
        "stream" => RedisType::Stream,
        other => return Err(format!("type={other:?}: list or stream")),
    };
    let num = |k: &str| -> Result<u64, String> {
        get(params, k).map_or(Ok(0), |v| {
            v.parse().map_err(|_| format!("{k}={v:?} is not a number"))
        })
    };
    for (k, _) in params {
        if !["type", "maxlen", "db"].contains(&k.as_str()) {
            return Err(format!("unknown Redis option {k:?} (type, maxlen, db)"));
        }
    }
    let shown = match auth {
        Some(_) => format!("***@{rest}"),
        None => rest.to_string(),
    };
    Ok((
        Destination::Redis(RedisSpec {
            host,
            port,
            key: key.to_string(),
            kind,
            maxlen: num("maxlen")?,
            db: u32::try_from(num("db")?).map_err(|_| "db is too large".to_string())?,
            user,
            password,
        }),
        shown,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_each_kind() {
        let o: OutputSpec = "syslog+tls://[::1]:6514?facility=local5&ca=/etc/ca.pem"
            .parse()
            .unwrap();
        let Destination::Syslog(s) = &o.dest else {
            panic!("{o:?}")
        };
        assert_eq!(
            (s.transport, s.host.as_str(), s.port, s.facility, s.severity),
            (SyslogTransport::Tls, "::1", 6514, 21, 6)
        );
        assert_eq!(s.ca.as_deref(), Some("/etc/ca.pem"));
        let o: OutputSpec = "kafka://b1:9092,b2:9092/zeek-{path}?compression.type=zstd"
            .parse()
            .unwrap();
        assert_eq!(
            o.dest,
            Destination::Kafka(KafkaSpec {
                brokers: vec!["b1:9092".into(), "b2:9092".into()],
                topic: "zeek-{path}".into(),
                properties: vec![("compression.type".into(), "zstd".into())],
            })
        );
        let o: OutputSpec = "redis://:s%40cret@127.0.0.1:6379/logs?type=stream&maxlen=1000"
            .parse()
            .unwrap();
        assert_eq!(
            o.name,
            "redis://***@127.0.0.1:6379/logs?type=stream&maxlen=1000"
        );
        assert!(!o.id.contains('/') && !o.id.contains("cret"));
        let Destination::Redis(r) = o.dest else {
            panic!()
        };
        assert_eq!(r.password.as_deref(), Some("s@cret"));
        assert_eq!((r.kind, r.maxlen), (RedisType::Stream, 1000));
    }

    #[test]
    fn says_what_is_wrong() {
        for (url, want) in [
            ("syslog.example:514", "expected a URL"),
            ("syslog+tcp://host", "expected HOST:PORT"),
            ("syslog+udp://h:514?max=10", "datagram size"),
            ("syslog+tcp://h:514?colour=red", "unknown syslog option"),
            ("kafka://b:9092", "BROKER"),
            ("kafka://b:9092/a b", "topic"),
            ("redis://h:6379/k?type=set", "list or stream"),
            ("ftp://h:21/x", "unknown scheme"),
        ] {
            let e = url.parse::<OutputSpec>().unwrap_err();
            assert!(e.contains(want), "{url}: {e}");
        }
    }
}
