//! FDDI frames (`DLT_FDDI`), as Zeek's FDDI analyzer reads them: the 13-byte
//! MAC header and an 8-byte LLC/SNAP header are skipped and IP is assumed.

use super::DecodeError;

/// FDDI MAC header plus LLC/SNAP header.
pub const HEADER_LEN: usize = 13 + 8;

/// The payload after the headers; more than 21 bytes are needed
/// (`FDDI_analyzer_failed`).
pub fn fddi(buf: &[u8]) -> Result<&[u8], DecodeError> {
    if buf.len() <= HEADER_LEN {
        return Err(DecodeError::FddiAnalyzerFailed);
    }
    Ok(&buf[HEADER_LEN..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skips_the_headers() {
        assert_eq!(fddi(&[0; 22]).unwrap().len(), 1);
        assert_eq!(fddi(&[0; 21]).unwrap_err(), DecodeError::FddiAnalyzerFailed);
    }
}
