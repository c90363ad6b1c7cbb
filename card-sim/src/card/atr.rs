//! The answer to reset (ISO/IEC 7816-3 §8). The default `3B 80 80 1F 07 18` offers T=0
//! only, with the global interface bytes (T=15) of a UICC, as real UICCs do
//! (ETSI TS 102 221 §6.3). Why not T=0 and T=1 (`3B 80 80 01 01`, still available with
//! `--atr`): pcsc-lite prefers T=1 when a client asks for either, and keeps the protocol
//! the first client negotiated while the card stays powered. After any such client
//! (opensc-tool, scriptor, pyscard's default), T=0-only clients are refused with
//! `SCARD_E_PROTO_MISMATCH`: lpac connects with T=0 only, and pySim-shell sends T=0
//! headers once it sees T=0 in the ATR (measured: docs/interop-results.md). A T=0-only
//! card works with all of them. pcsc-lite refuses a T=1-only card for lpac, and
//! [`parse`] refuses an ATR without T=0.

/// Default ATR: TS=3B, T0=80 (TD1, no historical bytes), TD1=80 (T=0, TD2 follows),
/// TD2=1F (T=15 global bytes, TA3 follows), TA3=07 (classes A, B and C), TCK=18 (XOR of
/// T0..TA3; present because T=15 is indicated).
pub const DEFAULT_ATR: [u8; 6] = [0x3B, 0x80, 0x80, 0x1F, 0x07, 0x18];

/// Longest ATR ISO/IEC 7816-3 allows.
pub const MAX_ATR: usize = 33;

/// Parses and checks an ATR given in hex (spaces and colons allowed).
pub fn parse(text: &str) -> Result<Vec<u8>, String> {
    let clean: String = text
        .chars()
        .filter(|c| !c.is_whitespace() && *c != ':')
        .collect();
    let atr = hex::decode(&clean).map_err(|e| format!("ATR is not hex: {e}"))?;
    check(&atr)?;
    Ok(atr)
}

/// Checks an ATR's structure, that it offers T=0, and its TCK.
pub fn check(atr: &[u8]) -> Result<(), String> {
    if atr.len() < 2 || atr.len() > MAX_ATR {
        return Err(format!(
            "an ATR has 2 to {MAX_ATR} bytes, got {}",
            atr.len()
        ));
    }
    if atr[0] != 0x3B && atr[0] != 0x3F {
        return Err(format!("TS must be 3B or 3F, got {:02X}", atr[0]));
    }
    let historical = usize::from(atr[1] & 0x0F);
    let mut y = atr[1] >> 4;
    let mut pos = 2;
    let mut protocols = Vec::new();
    loop {
        // TAi, TBi, TCi present per bits 5-7 of Y; TDi per bit 8.
        pos += (y & 0x07).count_ones() as usize;
        if y & 0x08 == 0 {
            break;
        }
        let td = *atr.get(pos).ok_or("ATR truncated in the interface bytes")?;
        protocols.push(td & 0x0F);
        y = td >> 4;
        pos += 1;
    }
    if protocols.is_empty() {
        protocols.push(0);
    }
    if !protocols.contains(&0) {
        return Err("the ATR must offer T=0 (lpac connects with T=0 only)".into());
    }
    pos += historical;
    let needs_tck = protocols.iter().any(|&p| p != 0);
    let expected = pos + usize::from(needs_tck);
    if atr.len() != expected {
        return Err(format!(
            "ATR length {} does not match its structure ({expected} bytes{})",
            atr.len(),
            if needs_tck { " with TCK" } else { "" }
        ));
    }
    if needs_tck && atr[1..].iter().fold(0u8, |a, &b| a ^ b) != 0 {
        return Err("wrong TCK: the XOR of T0..TCK must be 00".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_valid() {
        check(&DEFAULT_ATR).unwrap();
        assert_eq!(parse("3B 80 80 1F 07 18").unwrap(), DEFAULT_ATR);
        // T=0 and T=1 stays available.
        check(&[0x3B, 0x80, 0x80, 0x01, 0x01]).unwrap();
    }

    #[test]
    fn others() {
        // T=0 only, no TCK, two historical bytes.
        check(&[0x3B, 0x02, 0x14, 0x50]).unwrap();
        assert!(parse("3B8080010100").is_err(), "trailing byte");
        assert!(parse("3B80800102").is_err(), "bad TCK");
        assert!(parse("3B80010101").unwrap_err().contains("T=0"), "T=1 only");
        assert!(parse("3B").is_err());
        assert!(parse("3C00").is_err());
        assert!(parse("zz").is_err());
        assert!(parse("3B8F").is_err(), "historical bytes missing");
    }
}
