//! Kafka output, through librdkafka (the `rdkafka` crate).
//!
//! The producer runs with idempotence on and acknowledgements from all
//! in-sync replicas (`enable.idempotence=true`, `acks=all`), so retries
//! neither duplicate nor reorder a partition's records. Each record's key is
//! its connection uid (records without one, such as stats or x509, have no
//! key), so one connection's records land in one partition, in order. A
//! `{path}` in the topic gives one topic per log.
//!
//! librdkafka keeps what it was handed until a broker takes it
//! (`message.timeout.ms=0`: no give-up), reconnecting by itself (after a
//! fatal error the output makes a new producer and offers again what was
//! not acknowledged); the output
//! hands it records while its buffer (`queue.buffering.max.kbytes`, as
//! large as the output's memory bound) has room, and the rest waits in the
//! output's queue and spool. A record is acknowledged by its delivery report; one
//! refused for good (too large, say) is counted as dropped, with one
//! warning. Extra librdkafka properties come from the URL's query
//! (`?compression.type=zstd&security.protocol=ssl&...`).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rdkafka::config::ClientConfig;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{BaseProducer, BaseRecord, DeliveryResult, Producer, ProducerContext};
use rdkafka::ClientContext;

use super::url::KafkaSpec;
use super::{Offer, OutputOptions, Record, Transport};

/// What the producer's callbacks report to the output thread.
#[derive(Default)]
struct Reports {
    acks: Mutex<Vec<(u64, bool)>>,
    /// A record failed for a reason a new producer can cure (its
    /// idempotence state lost by the broker, say): make one and offer
    /// again what was not acknowledged.
    reset: AtomicBool,
    /// All brokers were reported down and no delivery succeeded since.
    down: AtomicBool,
    reconnects: AtomicU64,
    refusal_reported: AtomicBool,
    down_reported: AtomicBool,
}

impl ClientContext for Reports {
    fn log(&self, _level: rdkafka::config::RDKafkaLogLevel, _fac: &str, _msg: &str) {}

    fn error(&self, error: KafkaError, reason: &str) {
        let all_down = matches!(error, KafkaError::Global(RDKafkaErrorCode::AllBrokersDown));
        if all_down {
            self.down.store(true, Ordering::Relaxed);
        }
        if all_down && !self.down_reported.swap(true, Ordering::Relaxed) {
            eprintln!("sensor: warning: output kafka: {reason}; records are kept and sent when a broker is back");
        }
    }
}

impl ProducerContext for Reports {
    type DeliveryOpaque = usize;

    fn delivery(&self, result: &DeliveryResult<'_>, n: usize) {
        let delivered = match result {
            Ok(_) => {
                if self.down.swap(false, Ordering::Relaxed) {
                    self.reconnects.fetch_add(1, Ordering::Relaxed);
                    self.down_reported.store(false, Ordering::Relaxed);
                }
                true
            }
            // Purged at exit: not delivered, and kept in the spool.
            Err((KafkaError::MessageProduction(RDKafkaErrorCode::PurgeQueue), _))
            | Err((KafkaError::MessageProduction(RDKafkaErrorCode::PurgeInflight), _)) => return,
            Err((e, _)) if e.rdkafka_error_code().is_some_and(refused_for_good) => {
                if !self.refusal_reported.swap(true, Ordering::Relaxed) {
                    eprintln!("sensor: warning: output kafka: a record was refused: {e}; refused records are counted as dropped");
                }
                false
            }
            Err(_) => {
                self.reset.store(true, Ordering::Relaxed);
                return;
            }
        };
        if let Ok(mut a) = self.acks.lock() {
            a.push((n as u64, delivered));
        }
    }
}

/// Errors that no retry cures: the record itself or the topic is refused.
fn refused_for_good(code: RDKafkaErrorCode) -> bool {
    matches!(
        code,
        RDKafkaErrorCode::MessageSizeTooLarge
            | RDKafkaErrorCode::InvalidMessage
            | RDKafkaErrorCode::InvalidRecord
            | RDKafkaErrorCode::InvalidTopic
            | RDKafkaErrorCode::MessageBatchTooLarge
            | RDKafkaErrorCode::TopicAuthorizationFailed
    )
}

/// The Kafka transport.
pub struct KafkaTransport {
    config: ClientConfig,
    producer: Option<BaseProducer<Reports>>,
    topic: String,
}

impl KafkaTransport {
    /// A transport for `spec`; fails on a bad property (checked by making
    /// a producer once).
    pub fn new(spec: &KafkaSpec, opts: &OutputOptions) -> Result<KafkaTransport, String> {
        let mut cfg = ClientConfig::new();
        cfg.set("bootstrap.servers", spec.brokers.join(","))
            .set("client.id", format!("sensor-{}", opts.system_name))
            .set("enable.idempotence", "true")
            .set("acks", "all")
            .set("message.timeout.ms", "0")
            .set("linger.ms", "5")
            // One request in flight: strict order, and librdkafka's broker
            // thread waits for the answer instead of polling (with five in
            // flight it spun while a slow broker answered: +60% CPU).
            .set("max.in.flight.requests.per.connection", "1")
            .set(
                "queue.buffering.max.kbytes",
                (opts.mem_limit / 1024).clamp(1, 2_097_151).to_string(),
            )
            .set("queue.buffering.max.messages", "100000");
        for (k, v) in &spec.properties {
            cfg.set(k, v);
        }
        let mut t = KafkaTransport {
            config: cfg,
            producer: None,
            topic: spec.topic.clone(),
        };
        t.connect()
            .map_err(|e| format!("Kafka settings refused: {e}"))?;
        Ok(t)
    }

    fn producer(&self) -> Result<&BaseProducer<Reports>, String> {
        self.producer
            .as_ref()
            .ok_or_else(|| "no producer".to_string())
    }
}

/// A new producer is made (and what the old one held is offered again)
/// only after a fatal error, such as a broker that lost the idempotent
/// producer's state; librdkafka handles every other failure itself.
impl Transport for KafkaTransport {
    fn connect(&mut self) -> Result<(), String> {
        if self.producer.is_none() {
            let p: BaseProducer<Reports> = self
                .config
                .create_with_context(Reports::default())
                .map_err(|e| e.to_string())?;
            self.producer = Some(p);
        }
        Ok(())
    }

    fn offer(&mut self, n: u64, rec: &Record) -> Result<Offer, String> {
        let per_log;
        let topic = if self.topic.contains("{path}") {
            per_log = self.topic.replace("{path}", rec.path());
            &per_log
        } else {
            &self.topic
        };
        let mut r: BaseRecord<'_, [u8], [u8], usize> =
            BaseRecord::with_opaque_to(topic, n as usize).payload(rec.msg());
        if let Some(uid) = rec.uid() {
            r = r.key(uid);
        }
        let producer = self.producer()?;
        match producer.send(r) {
            Ok(()) => Ok(Offer::Taken),
            Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _)) => Ok(Offer::Busy),
            Err((e, _)) => {
                if let Some(fatal) = producer.client().fatal_error() {
                    return Err(format!("fatal producer error: {fatal:?}"));
                }
                let ctx = producer.context();
                if !ctx.refusal_reported.swap(true, Ordering::Relaxed) {
                    eprintln!("sensor: warning: output kafka: a record was refused: {e}; refused records are counted as dropped");
                }
                Ok(Offer::Refused)
            }
        }
    }

    fn progress(&mut self, ack: &mut dyn FnMut(u64, bool)) -> Result<bool, String> {
        let producer = self.producer()?;
        producer.poll(Duration::ZERO);
        let acks = match producer.context().acks.lock() {
            Ok(mut a) => std::mem::take(&mut *a),
            Err(_) => Vec::new(),
        };
        for (n, ok) in &acks {
            ack(*n, *ok);
        }
        if let Some((code, reason)) = producer.client().fatal_error() {
            return Err(format!("fatal producer error: {code:?} ({reason})"));
        }
        if producer.context().reset.load(Ordering::Relaxed) {
            return Err("a record could not be delivered; starting a new producer".into());
        }
        Ok(!acks.is_empty())
    }

    fn disconnect(&mut self) {
        // Dropping the producer purges what it held; those records were not
        // acknowledged and are offered to the next producer.
        self.producer = None;
    }

    fn take_reconnects(&mut self) -> u64 {
        self.producer
            .as_ref()
            .map_or(0, |p| p.context().reconnects.swap(0, Ordering::Relaxed))
    }

    fn finish(&mut self, deadline: Instant, ack: &mut dyn FnMut(u64, bool)) {
        if let Some(p) = &self.producer {
            let left = deadline.saturating_duration_since(Instant::now());
            let _ = p.flush(left);
        }
        let _ = self.progress(ack);
    }
}
