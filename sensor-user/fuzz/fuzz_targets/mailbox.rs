//! Arbitrary client and server bytes through the POP3 and IMAP sessions
//! (and the MIME parser behind their message files): never panics, and
//! every record they emit encodes.
#![no_main]

use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use sensor::analyzers::imap::session::ImapPool;
use sensor::analyzers::mime::files::FileEnv;
use sensor::analyzers::pop3::session::Pop3Pool;
use sensor::files::extract::ExtractConfig;
use sensor::logs::format::{encode, FormatOptions};
use sensor::logs::{ConnId, LogRecord};
use sensor::uid::Uid;

struct Env {
    n: u128,
    out: Vec<u8>,
}

impl FileEnv for Env {
    fn now(&self) -> u64 {
        1
    }
    fn id(&self) -> ConnId {
        let a = std::net::IpAddr::from([10, 0, 0, 1]);
        ConnId {
            uid: Uid {
                prefix: b'C',
                value: 1,
            },
            orig_h: a,
            orig_p: 1,
            resp_h: a,
            resp_p: 143,
        }
    }
    fn local_orig(&self) -> bool {
        true
    }
    fn emit(&mut self, rec: &dyn LogRecord) {
        self.out.clear();
        encode(rec, &FormatOptions::default(), &mut self.out);
    }
    fn new_fuid(&mut self) -> Uid {
        self.n += 1;
        Uid {
            prefix: b'F',
            value: self.n,
        }
    }
    fn extract_config(&self) -> Option<Arc<ExtractConfig>> {
        None
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&which, mut rest)) = data.split_first() else {
        return;
    };
    let mut env = Env {
        n: 0,
        out: Vec::new(),
    };
    let (mut pop3, mut imap) = (Pop3Pool::new(1, true), ImapPool::new(1, true));
    let (Some(p), Some(i)) = (pop3.acquire(), imap.acquire()) else {
        return;
    };
    // Chunks: a direction/kind byte, a length byte, then the bytes.
    while rest.len() >= 2 {
        let (kind, len) = (rest[0], rest[1] as usize);
        let len = len.min(rest.len() - 2);
        let chunk = &rest[2..2 + len];
        rest = &rest[2 + len..];
        let is_orig = kind % 2 == 0;
        if which % 2 == 0 {
            let Some(s) = pop3.get_mut(p) else { return };
            match kind % 8 {
                7 => s.gap(is_orig, len as u64 + 1, &mut env),
                _ => s.deliver(is_orig, chunk, &mut env),
            }
        } else {
            let Some(s) = imap.get_mut(i) else { return };
            match kind % 8 {
                7 => s.gap(is_orig, len as u64 + 1, &mut env),
                _ => s.deliver(is_orig, chunk, &mut env),
            }
        }
    }
    if let Some(s) = pop3.get_mut(p) {
        s.finish(&mut env);
    }
    if let Some(s) = imap.get_mut(i) {
        s.finish(&mut env);
    }
});
