//! Linux netfilter log captures (`DLT_NFLOG`): a 4-byte header (address
//! family, version, resource id) and type-length-value records, one of
//! which (type 9) holds the packet, walked with the checks of Zeek's NFLog
//! analyzer.

use super::DecodeError;

/// TLV type of the packet payload.
const TLV_PAYLOAD: u16 = 9;

/// Returns `(address family, packet)` of an NFLOG record. TLV lengths and
/// types are in the capturing host's byte order, read little-endian here.
pub fn nflog(buf: &[u8]) -> Result<(u8, &[u8]), DecodeError> {
    if buf.len() <= 4 {
        return Err(DecodeError::TruncatedNflogHeader);
    }
    let family = buf[0];
    if buf[1] != 0 {
        return Err(DecodeError::UnknownNflogVersion);
    }
    let mut rest = &buf[4..];
    loop {
        if rest.len() <= 4 {
            return Err(DecodeError::NflogNoPcapPayload);
        }
        let tlv_len = u16::from_le_bytes([rest[0], rest[1]]);
        let tlv_type = u16::from_le_bytes([rest[2], rest[3]]);
        if tlv_type == TLV_PAYLOAD {
            return Ok((family, &rest[4..]));
        }
        if tlv_len < 4 {
            return Err(DecodeError::NflogBadTlvLen { skip: 0, left: 0 });
        }
        // TLVs are padded to 32 bits; the padding is not in the length.
        let skip = (usize::from(tlv_len) + 3) & !3;
        if skip > rest.len() {
            return Err(DecodeError::NflogBadTlvLen {
                skip: skip as u32,
                left: rest.len() as u32,
            });
        }
        rest = &rest[skip..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tlv(t: u16, body: &[u8]) -> Vec<u8> {
        let mut v = ((body.len() + 4) as u16).to_le_bytes().to_vec();
        v.extend_from_slice(&t.to_le_bytes());
        v.extend_from_slice(body);
        while !v.len().is_multiple_of(4) {
            v.push(0);
        }
        v
    }

    #[test]
    fn walks_to_the_payload() {
        let mut f = vec![2, 0, 0, 0];
        f.extend(tlv(1, &[0, 0, 0]));
        f.extend(tlv(TLV_PAYLOAD, &[]));
        f.extend_from_slice(&[0x45, 0]);
        assert_eq!(nflog(&f).unwrap(), (2, &[0x45u8, 0][..]));
        assert_eq!(
            nflog(&f[..4]).unwrap_err(),
            DecodeError::TruncatedNflogHeader
        );
        let mut v1 = f.clone();
        v1[1] = 1;
        assert_eq!(nflog(&v1).unwrap_err(), DecodeError::UnknownNflogVersion);
        assert_eq!(
            nflog(&f[..12]).unwrap_err(),
            DecodeError::NflogNoPcapPayload
        );
        let mut bad = vec![2, 0, 0, 0, 2, 0, 1, 0, 0];
        assert_eq!(
            nflog(&bad).unwrap_err(),
            DecodeError::NflogBadTlvLen { skip: 0, left: 0 }
        );
        bad[4] = 40;
        assert_eq!(
            nflog(&bad).unwrap_err(),
            DecodeError::NflogBadTlvLen { skip: 40, left: 5 }
        );
    }
}
