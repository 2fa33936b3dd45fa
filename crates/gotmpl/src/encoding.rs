//! The encodings and checksums templates use: hex, Adler-32, base64 and base32 as Go's
//! standard library writes and reads them (padding, line breaks ignored on input, Go's error
//! texts).

pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

pub fn adler32(b: &[u8]) -> u32 {
    let (mut a, mut s2) = (1u32, 0u32);
    for &x in b {
        a = (a + x as u32) % 65521;
        s2 = (s2 + a) % 65521;
    }
    (s2 << 16) | a
}

const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

pub fn base64_encode(b: &[u8]) -> String {
    let mut out = String::with_capacity(b.len().div_ceil(3) * 4);
    for c in b.chunks(3) {
        let n = (c[0] as u32) << 16
            | (*c.get(1).unwrap_or(&0) as u32) << 8
            | *c.get(2).unwrap_or(&0) as u32;
        out.push(B64[(n >> 18) as usize & 63] as char);
        out.push(B64[(n >> 12) as usize & 63] as char);
        out.push(if c.len() > 1 {
            B64[(n >> 6) as usize & 63] as char
        } else {
            '='
        });
        out.push(if c.len() > 2 {
            B64[n as usize & 63] as char
        } else {
            '='
        });
    }
    out
}

pub fn base64_decode(st: &str) -> Result<Vec<u8>, String> {
    let st = st.trim_end_matches(['\r', '\n']);
    let clean: Vec<u8> = st.bytes().filter(|b| *b != b'\n' && *b != b'\r').collect();
    if !clean.len().is_multiple_of(4) {
        return Err(format!(
            "illegal base64 data at input byte {}",
            clean.len() / 4 * 4
        ));
    }
    let mut out = Vec::new();
    for (k, c) in clean.chunks(4).enumerate() {
        let mut n = 0u32;
        let mut pad = 0;
        for (j, &ch) in c.iter().enumerate() {
            let v = if ch == b'=' {
                pad += 1;
                0
            } else {
                if pad > 0 {
                    return Err(format!("illegal base64 data at input byte {}", k * 4 + j));
                }
                B64.iter()
                    .position(|x| *x == ch)
                    .ok_or_else(|| format!("illegal base64 data at input byte {}", k * 4 + j))?
                    as u32
            };
            n = n << 6 | v;
        }
        if pad > 2 {
            return Err(format!("illegal base64 data at input byte {}", k * 4 + 2));
        }
        out.push((n >> 16) as u8);
        if pad < 2 {
            out.push((n >> 8) as u8);
        }
        if pad < 1 {
            out.push(n as u8);
        }
    }
    Ok(out)
}

const B32: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

pub fn base32_encode(b: &[u8]) -> String {
    let mut out = String::new();
    for c in b.chunks(5) {
        let mut buf = [0u8; 5];
        buf[..c.len()].copy_from_slice(c);
        let n = buf.iter().fold(0u64, |a, x| a << 8 | *x as u64);
        let chars = match c.len() {
            1 => 2,
            2 => 4,
            3 => 5,
            4 => 7,
            _ => 8,
        };
        for k in 0..8 {
            if k < chars {
                out.push(B32[((n >> (35 - k * 5)) & 31) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

pub fn base32_decode(st: &str) -> Result<Vec<u8>, String> {
    let clean: Vec<u8> = st.bytes().filter(|b| *b != b'\n' && *b != b'\r').collect();
    if !clean.len().is_multiple_of(8) {
        return Err(format!(
            "illegal base32 data at input byte {}",
            clean.len() / 8 * 8
        ));
    }
    let mut out = Vec::new();
    for (k, c) in clean.chunks(8).enumerate() {
        let mut n = 0u64;
        let mut data = 0;
        for (j, &ch) in c.iter().enumerate() {
            let v = if ch == b'=' {
                0
            } else {
                data += 1;
                B32.iter()
                    .position(|x| *x == ch)
                    .ok_or_else(|| format!("illegal base32 data at input byte {}", k * 8 + j))?
                    as u64
            };
            n = n << 5 | v;
        }
        let bytes = match data {
            2 => 1,
            4 => 2,
            5 => 3,
            7 => 4,
            8 => 5,
            _ => return Err(format!("illegal base32 data at input byte {}", k * 8)),
        };
        for j in 0..bytes {
            out.push((n >> (32 - j * 8)) as u8);
        }
    }
    Ok(out)
}
