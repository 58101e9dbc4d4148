//! Arbitrary client and server bytes through the SMTP session and its MIME
//! parser: never panics, and every record it emits encodes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sensor::analyzers::smtp::session::{SmtpEnv, SmtpPool};
use sensor::logs::format::{encode, FormatOptions};
use sensor::logs::{ConnId, LogRecord};
use sensor::uid::Uid;

struct Env {
    n: u128,
    out: Vec<u8>,
}

impl SmtpEnv for Env {
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
            resp_p: 25,
        }
    }
    fn local_orig(&self) -> bool {
        true
    }
    fn confirm(&mut self) {}
    fn violation(&mut self, _: &[u8], _: &[u8]) -> bool {
        false
    }
    fn weird(&mut self, _: &'static str, _: &[u8], _: Option<&'static str>) {}
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
}

fuzz_target!(|data: &[u8]| {
    let mut pool = SmtpPool::new(1, Default::default());
    let Some(i) = pool.acquire() else { return };
    let Some(s) = pool.get_mut(i) else { return };
    let mut env = Env {
        n: 0,
        out: Vec::new(),
    };
    // Chunks: a direction/kind byte, a length byte, then the bytes.
    let mut rest = data;
    while rest.len() >= 2 {
        let (kind, len) = (rest[0], rest[1] as usize);
        let len = len.min(rest.len() - 2);
        let chunk = &rest[2..2 + len];
        rest = &rest[2 + len..];
        match kind % 8 {
            7 => s.gap(len as u64 + 1, &mut env),
            k => {
                s.deliver(k % 2 == 0, chunk, &mut env);
            }
        }
    }
    s.finish(&mut env);
});
