//! The digests Sprig offers (`sha1sum`, `sha256sum`, `sha512sum`) and its AES-256-CBC
//! (`encryptAES`, `decryptAES`), on the RustCrypto crates.

use sha1::Digest as _;

pub fn sha1(b: &[u8]) -> Vec<u8> {
    sha1::Sha1::digest(b).to_vec()
}

pub fn sha256(b: &[u8]) -> Vec<u8> {
    sha2::Sha256::digest(b).to_vec()
}

pub fn sha512(b: &[u8]) -> Vec<u8> {
    sha2::Sha512::digest(b).to_vec()
}

fn cipher(password: &[u8]) -> aes::Aes256 {
    use aes::cipher::KeyInit;
    let mut key = [0u8; 32];
    let n = password.len().min(32);
    key[..n].copy_from_slice(&password[..n]);
    aes::Aes256::new(&key.into())
}

/// AES-256-CBC with PKCS#7 padding; the IV comes first in the result.
pub fn aes_cbc_encrypt(password: &[u8], iv: &[u8; 16], plain: &[u8]) -> Vec<u8> {
    use aes::cipher::BlockEncrypt;
    let c = cipher(password);
    let pad = 16 - plain.len() % 16;
    let mut data = plain.to_vec();
    data.extend(std::iter::repeat_n(pad as u8, pad));
    let mut out = iv.to_vec();
    let mut prev = *iv;
    for chunk in data.chunks(16) {
        let mut block = [0u8; 16];
        for (i, b) in chunk.iter().enumerate() {
            block[i] = b ^ prev[i];
        }
        let mut ga = block.into();
        c.encrypt_block(&mut ga);
        prev = ga.into();
        out.extend_from_slice(&prev);
    }
    out
}

/// The reverse of [`aes_cbc_encrypt`]; Go's errors (and its panics, as errors) for bad input.
pub fn aes_cbc_decrypt(password: &[u8], crypt: &[u8]) -> Result<Vec<u8>, String> {
    use aes::cipher::BlockDecrypt;
    if crypt.len() < 32 || !crypt.len().is_multiple_of(16) {
        return Err("crypto/cipher: input not full blocks".into());
    }
    let c = cipher(password);
    let mut prev: [u8; 16] = crypt[..16].try_into().unwrap_or([0; 16]);
    let mut out = Vec::with_capacity(crypt.len() - 16);
    for chunk in crypt[16..].chunks(16) {
        let mut ga = aes::Block::clone_from_slice(chunk);
        c.decrypt_block(&mut ga);
        for (i, b) in ga.iter().enumerate() {
            out.push(b ^ prev[i]);
        }
        prev = chunk.try_into().unwrap_or([0; 16]);
    }
    let pad = *out.last().unwrap_or(&0) as usize;
    if pad == 0 || pad > out.len() {
        return Err(format!(
            "runtime error: slice bounds out of range [:{}] with capacity {}",
            out.len() as i64 - pad as i64,
            out.len()
        ));
    }
    out.truncate(out.len() - pad);
    Ok(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn aes_round_trip_and_a_known_vector() {
        let iv = [7u8; 16];
        let c = super::aes_cbc_encrypt(b"secretkey", &iv, b"plaintext");
        assert_eq!(c.len(), 32);
        assert_eq!(
            super::aes_cbc_decrypt(b"secretkey", &c).unwrap(),
            b"plaintext"
        );
        // FIPS-197's AES-256 example block, as the first CBC block with a zero IV.
        let key: Vec<u8> = (0u8..32).collect();
        let plain: Vec<u8> = (0u8..16).map(|i| i * 0x11).collect();
        let c = super::aes_cbc_encrypt(&key, &[0; 16], &plain);
        let hex: String = c[16..32].iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, "8ea2b7ca516745bfeafc49904b496089");
    }
}
