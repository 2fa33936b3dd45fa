//! The digests Sprig offers (`sha1sum`, `sha256sum`, `sha512sum`), on the RustCrypto crates.

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
