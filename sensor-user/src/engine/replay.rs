//! Protocol detection on a connection no analyzer was attached to by port,
//! and Zeek's replay of the first bytes into what a signature finds.
//!
//! Zeek's PIA keeps the first chunks of both directions until
//! `dpd_buffer_size` bytes or `dpd_max_packets` chunks went by
//! (`PIA_TCP::DeliverStream`); when a signature enables an analyzer,
//! `PIA_TCP::ActivateAnalyzer` adds it and replays the whole buffer into it
//! (`ReplayStreamBuffer`), the matching chunk included. Here the chunks go
//! through the recognizers of [`AppState`](crate::analyzers::dpd::AppState)
//! and, while a signature may still fire, into the connection's
//! [`ReplayBuffer`](crate::analyzers::replay::ReplayBuffer). When SMTP, SSL
//! or POP3 is found, its full session (smtp.log and files, ssl.log and
//! x509.log, pop3.log) gets the held chunks and then the one that revealed
//! it, in order, at the time of that chunk (Zeek replays at the current
//! network time too). Data goes one way: chunk, recognizers, what they
//! found, the session.

use super::{AppEvents, ChunkCtx, ConnEvents, RecordSink, ReplaySlot};
use crate::analyzers::{MailboxSlot, Service};
use crate::reassembly::Chunk;

/// The full session a found protocol's bytes are replayed into.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Target {
    Smtp,
    Tls,
    Pop3,
}

impl<S: RecordSink> ConnEvents<'_, S> {
    /// Runs detection over a data chunk; a session for what a signature
    /// found now takes the stream over, and the chunk is held while a
    /// signature may still fire.
    pub(super) fn detect(&mut self, is_orig: bool, data: &[u8], seq: u64) {
        let ctx = ChunkCtx {
            partial: self.partial,
            smtp_session: self.replay.complete() && self.smtp_pool.has_free(),
            window: self.window,
        };
        let ev = &mut AppEvents {
            inner: &mut self.out,
        };
        let found = self.app.get().deliver(is_orig, data, ctx, ev);
        for s in found.into_iter().flatten() {
            if let Some(t) = self.session_for(s, ctx) {
                self.replay_into(t, is_orig, data, seq);
            }
        }
        self.follow_pop3_verdict();
        // A STARTTLS a recognizer saw: TLS from the next chunk on.
        self.attach_tls();
        if self.app.get().wants_replay() {
            self.hold(is_orig, data);
        }
    }

    /// The full session that takes over `s`, found by its signature, if
    /// one is free (none when the start of the stream was not held: the
    /// connection then keeps the recognizer alone, as without a buffer).
    fn session_for(&mut self, s: Service, ctx: ChunkCtx) -> Option<Target> {
        match s {
            Service::Smtp if ctx.smtp_session => {
                *self.smtp = self.smtp_pool.acquire();
                self.smtp.map(|_| Target::Smtp)
            }
            Service::Smtp => {
                if self.replay.complete() {
                    self.out.counters.smtp_sessions_exhausted += 1;
                }
                None
            }
            Service::Ssl => self.attach_tls().then_some(Target::Tls),
            Service::Pop3 => self.acquire_pop3().then_some(Target::Pop3),
            Service::Imap | Service::Dtls => None,
        }
    }

    /// A POP3 session for pop3.log (beyond Zeek), when the mailbox logs are
    /// on and the start of the stream can be replayed into it.
    fn acquire_pop3(&mut self) -> bool {
        if !self.mailbox_on || self.mailbox.is_some() || !self.replay.complete() {
            return false;
        }
        *self.mailbox = self.pop3.acquire().map(MailboxSlot::Pop3);
        if self.mailbox.is_none() {
            self.out.counters.pop3_sessions_exhausted += 1;
        }
        *self.pop3_by_signature = self.mailbox.is_some();
        self.mailbox.is_some()
    }

    /// A POP3 session a signature started follows Zeek's POP3 analyzer:
    /// when that gives up on the connection (a violation: not POP3 after
    /// all, e.g. Redis answering `+OK`, and conn.log `service` stays
    /// unset), the session goes back to its pool without a record.
    fn follow_pop3_verdict(&mut self) {
        if !*self.pop3_by_signature || self.app.get().pop3_attached() {
            return;
        }
        *self.pop3_by_signature = false;
        if let Some(MailboxSlot::Pop3(i)) = *self.mailbox {
            *self.mailbox = None;
            self.pop3.release(i);
        }
    }

    /// Gives `t` the held start of the stream, then the chunk at `seq` that
    /// revealed the protocol. Without a held start (the pool was empty)
    /// only a chunk that starts its direction is given, as before replay
    /// existed. The buffer goes back to the pool: the session is the
    /// authority from now on.
    fn replay_into(&mut self, t: Target, is_orig: bool, data: &[u8], seq: u64) {
        let complete = self.replay.complete();
        let held = std::mem::replace(self.replay, ReplaySlot::OFF)
            .held_index()
            .and_then(|i| self.replay_pool.get_mut(i).map(|b| (i, std::mem::take(b))));
        if let Some((_, buf)) = &held {
            for (o, d) in buf.chunks() {
                self.feed(t, o, d);
            }
        }
        if complete || seq == 1 {
            self.feed(t, is_orig, data);
        }
        if let Some((i, buf)) = held {
            if let Some(slot) = self.replay_pool.get_mut(i) {
                *slot = buf;
            }
            self.replay_pool.release(i);
        }
    }

    /// One chunk of payload for the session `t`.
    fn feed(&mut self, t: Target, is_orig: bool, data: &[u8]) {
        match t {
            Target::Smtp => self.feed_smtp(is_orig, data),
            Target::Tls => self.feed_tls(is_orig, data),
            Target::Pop3 => self.deliver_mailbox(is_orig, Chunk::Data { seq: 0, data }),
        }
    }

    /// Keeps a chunk for a later replay, taking a buffer for the first one.
    /// A connection that finds the pool empty is counted and goes on
    /// without replay.
    fn hold(&mut self, is_orig: bool, data: &[u8]) {
        if *self.replay == ReplaySlot::FRESH {
            *self.replay = match self.replay_pool.acquire() {
                Some(i) => ReplaySlot::held(i),
                None => {
                    self.out.counters.dpd_buffers_exhausted += 1;
                    ReplaySlot::OFF
                }
            };
        }
        if let Some(i) = self.replay.held_index() {
            let window = self.window;
            let held = self
                .replay_pool
                .get_mut(i)
                .is_some_and(|b| b.hold(is_orig, data, window));
            if !held {
                self.release_replay();
            }
        }
    }

    /// Once no signature can fire any more, the held start is not needed.
    pub(super) fn settle_replay(&mut self) {
        if !self.app.get().wants_replay() {
            self.release_replay();
        }
    }

    fn release_replay(&mut self) {
        if let Some(i) = std::mem::replace(self.replay, ReplaySlot::OFF).held_index() {
            self.replay_pool.release(i);
        }
    }
}
