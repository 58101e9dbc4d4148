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
//! (`message.timeout.ms=0`: no give-up), reconnecting by itself; the output
//! hands it records while its buffer (`queue.buffering.max.kbytes`, the
//! output's memory bound) has room, and the rest waits in the output's
//! queue and spool. A record is acknowledged by its delivery report; one
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
            Err((e, _)) => {
                if !self.refusal_reported.swap(true, Ordering::Relaxed) {
                    eprintln!("sensor: warning: output kafka: a record was refused: {e}; refused records are counted as dropped");
                }
                false
            }
        };
        if let Ok(mut a) = self.acks.lock() {
            a.push((n as u64, delivered));
        }
    }
}

/// The Kafka transport.
pub struct KafkaTransport {
    producer: BaseProducer<Reports>,
    topic: String,
    /// Records handed to librdkafka and not yet reported.
    outstanding: u64,
}

impl KafkaTransport {
    /// A producer for `spec`; fails on a bad property.
    pub fn new(spec: &KafkaSpec, opts: &OutputOptions) -> Result<KafkaTransport, String> {
        let mut cfg = ClientConfig::new();
        cfg.set("bootstrap.servers", spec.brokers.join(","))
            .set("client.id", format!("sensor-{}", opts.system_name))
            .set("enable.idempotence", "true")
            .set("acks", "all")
            .set("message.timeout.ms", "0")
            .set("linger.ms", "5")
            .set(
                "queue.buffering.max.kbytes",
                (opts.mem_limit / 1024).clamp(1024, 2_097_151).to_string(),
            )
            .set("queue.buffering.max.messages", "100000");
        for (k, v) in &spec.properties {
            cfg.set(k, v);
        }
        let producer: BaseProducer<Reports> = cfg
            .create_with_context(Reports::default())
            .map_err(|e| format!("Kafka settings refused: {e}"))?;
        Ok(KafkaTransport {
            producer,
            topic: spec.topic.clone(),
            outstanding: 0,
        })
    }
}

impl Transport for KafkaTransport {
    fn connect(&mut self) -> Result<(), String> {
        Ok(())
    }

    fn offer(&mut self, n: u64, rec: &Record) -> Result<Offer, String> {
        let topic = self.topic.replace("{path}", rec.path());
        let mut r: BaseRecord<'_, [u8], [u8], usize> =
            BaseRecord::with_opaque_to(&topic, n as usize).payload(rec.msg());
        if let Some(uid) = rec.uid() {
            r = r.key(uid);
        }
        match self.producer.send(r) {
            Ok(()) => {
                self.outstanding += 1;
                Ok(Offer::Taken)
            }
            Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _)) => Ok(Offer::Busy),
            Err((e, _)) => {
                let ctx = self.producer.context();
                if !ctx.refusal_reported.swap(true, Ordering::Relaxed) {
                    eprintln!("sensor: warning: output kafka: a record was refused: {e}; refused records are counted as dropped");
                }
                Ok(Offer::Refused)
            }
        }
    }

    fn progress(&mut self, ack: &mut dyn FnMut(u64, bool)) -> Result<bool, String> {
        self.producer.poll(Duration::ZERO);
        let acks = match self.producer.context().acks.lock() {
            Ok(mut a) => std::mem::take(&mut *a),
            Err(_) => Vec::new(),
        };
        self.outstanding = self.outstanding.saturating_sub(acks.len() as u64);
        for (n, ok) in &acks {
            ack(*n, *ok);
        }
        Ok(!acks.is_empty())
    }

    fn disconnect(&mut self) {}

    fn resends(&self) -> bool {
        false
    }

    fn take_reconnects(&mut self) -> u64 {
        self.producer
            .context()
            .reconnects
            .swap(0, Ordering::Relaxed)
    }

    fn finish(&mut self, deadline: Instant, ack: &mut dyn FnMut(u64, bool)) {
        let left = deadline.saturating_duration_since(Instant::now());
        let _ = self.producer.flush(left);
        let _ = self.progress(ack);
    }
}
