//! Small helpers with no better home: base64 (standard alphabet, as Go's encoding/json uses for
//! `[]byte`), a cheap string hash for span lookups, edit distance for "did you mean", and JSON
//! pointers read without allocating (`Pointer`).

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding, as `base64.StdEncoding.DecodeString` accepts it. Go's JSON
/// decoder for `[]byte` also skips `\r` and `\n`; callers strip those first when they apply.
pub fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let b = s.as_bytes();
    if !b.len().is_multiple_of(4) {
        return None;
    }
    let mut out = Vec::with_capacity(b.len() / 4 * 3);
    for (ci, chunk) in b.chunks(4).enumerate() {
        let last = ci == b.len() / 4 - 1;
        let mut vals = [0u8; 4];
        let mut pad = 0;
        for (i, &c) in chunk.iter().enumerate() {
            vals[i] = match c {
                b'A'..=b'Z' => c - b'A',
                b'a'..=b'z' => c - b'a' + 26,
                b'0'..=b'9' => c - b'0' + 52,
                b'+' => 62,
                b'/' => 63,
                b'=' if last && i >= 2 => {
                    pad += 1;
                    0
                }
                _ => return None,
            };
            if pad > 0 && c != b'=' {
                return None;
            }
        }
        let n = (u32::from(vals[0]) << 18)
            | (u32::from(vals[1]) << 12)
            | (u32::from(vals[2]) << 6)
            | u32::from(vals[3]);
        out.push((n >> 16) as u8);
        if pad < 2 {
            out.push((n >> 8) as u8);
        }
        if pad < 1 {
            out.push(n as u8);
        }
        // Go rejects non-zero bits in the padding positions (strict decoding is off by default,
        // but trailing garbage bits are accepted); keep Go's lenient default.
    }
    Some(out)
}

/// Standard base64 with padding.
pub fn base64_encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let n = (u32::from(chunk[0]) << 16)
            | (u32::from(*chunk.get(1).unwrap_or(&0)) << 8)
            | u32::from(*chunk.get(2).unwrap_or(&0));
        out.push(B64[(n >> 18) as usize & 63] as char);
        out.push(B64[(n >> 12) as usize & 63] as char);
        out.push(if chunk.len() > 1 {
            B64[(n >> 6) as usize & 63] as char
        } else {
            '='
        });
        out.push(if chunk.len() > 2 {
            B64[n as usize & 63] as char
        } else {
            '='
        });
    }
    out
}

/// A fast, deterministic 64-bit hash of a string (FxHash-style), for span-tree keys.
pub fn str_hash(s: &str) -> u64 {
    const K: u64 = 0x517c_c1b7_2722_0a95;
    let mut h: u64 = s.len() as u64;
    let mut chunks = s.as_bytes().chunks_exact(8);
    for c in &mut chunks {
        let w = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
        h = (h.rotate_left(5) ^ w).wrapping_mul(K);
    }
    for &b in chunks.remainder() {
        h = (h.rotate_left(5) ^ u64::from(b)).wrapping_mul(K);
    }
    h
}

/// True when `s` holds a Flux post-build substitution variable (`${VAR}`, `${VAR:=default}`),
/// whose value is known only after substitution.
pub fn has_substitution_variable(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    while let Some(p) = s[i..].find("${") {
        let start = i + p;
        let escaped = start > 0 && b[start - 1] == b'$';
        let mut j = start + 2;
        if j < b.len() && (b[j].is_ascii_alphabetic() || b[j] == b'_') {
            j += 1;
            while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_') {
                j += 1;
            }
            if !escaped && j < b.len() && (b[j] == b'}' || b[j] == b':') && s[j..].contains('}') {
                return true;
            }
        }
        i = start + 2;
    }
    false
}

/// Edit distance with transpositions (optimal string alignment), for suggestions.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let w = b.len() + 1;
    let mut d = vec![0usize; (a.len() + 1) * w];
    for i in 0..=a.len() {
        d[i * w] = i;
    }
    for (j, cell) in d.iter_mut().enumerate().take(w) {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[(i - 1) * w + j] + 1)
                .min(d[i * w + j - 1] + 1)
                .min(d[(i - 1) * w + j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[(i - 2) * w + j - 2] + 1);
            }
            d[i * w + j] = v;
        }
    }
    d[a.len() * w + b.len()]
}

/// The closest candidate to `word`, if it is close enough to be a likely misspelling.
pub fn suggest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let lower = word.to_ascii_lowercase();
    let mut best: Option<(usize, &'a str)> = None;
    for c in candidates {
        let d = if c.to_ascii_lowercase() == lower {
            0
        } else {
            edit_distance(word, c)
        };
        let limit = (word.chars().count().max(c.chars().count()) / 3).clamp(1, 3);
        if d <= limit && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, c));
        }
    }
    best.map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pointers_answer_as_serde_json_does() {
        let v = serde_json::json!({
            "a": {"b/c": [1, {"d~e": true}], "": 5, "0": "zero"},
            "list": [10, 20, 30],
        });
        for p in [
            "",
            "/",
            "/a",
            "/a/b~1c",
            "/a/b~1c/1/d~0e",
            "/a/",
            "/a/0",
            "/list/0",
            "/list/2",
            "/list/3",
            "/list/01",
            "/list/+1",
            "/list/-1",
            "/list/x",
            "a",
            "/a/b~1c/0/x",
            "/missing",
            "/a/b~01c",
            "/a/b~1c/1",
        ] {
            assert_eq!(v.at(p), v.pointer(p), "{p}");
            let (mut a, mut b) = (v.clone(), v.clone());
            assert_eq!(a.at_mut(p), b.pointer_mut(p), "{p}");
        }
    }

    #[test]
    fn base64_round_trip() {
        for s in ["", "a", "ab", "abc", "abcd", "hello world"] {
            assert_eq!(
                base64_decode(&base64_encode(s.as_bytes())).unwrap(),
                s.as_bytes()
            );
        }
        assert_eq!(base64_encode(b"hello"), "aGVsbG8=");
        assert!(base64_decode("not base64!").is_none());
        assert!(base64_decode("abc").is_none());
        assert!(base64_decode("ab=c").is_none());
    }

    #[test]
    fn substitution_variables() {
        assert!(has_substitution_variable("${APP}"));
        assert!(has_substitution_variable("pvc-${APP}-data"));
        assert!(has_substitution_variable("${CAP:=5Gi}"));
        assert!(!has_substitution_variable("$${ESCAPED}"));
        assert!(!has_substitution_variable("$APP"));
        assert!(!has_substitution_variable("${1}"));
        assert!(!has_substitution_variable("cost: $5"));
    }

    #[test]
    fn suggestions() {
        let props = ["imagePullPolicy", "image", "name", "ports"];
        assert_eq!(suggest("imagePullPolcy", props), Some("imagePullPolicy"));
        assert_eq!(suggest("nmae", props), Some("name"));
        assert_eq!(suggest("totallyDifferent", props), None);
    }
}

/// A fast, non-cryptographic hasher (FxHash, as rustc uses) for maps keyed by strings that
/// come from the input: lookups in large indexes where SipHash's cost shows. Iteration order
/// of such maps must never reach output.
#[derive(Clone, Copy, Default)]
pub struct FxHasher(u64);

impl std::hash::Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0x51_7c_c1_b7_27_22_0a_95;
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let w = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
            self.0 = (self.0.rotate_left(5) ^ w).wrapping_mul(K);
        }
        for &b in chunks.remainder() {
            self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(K);
        }
    }

    fn write_u8(&mut self, i: u8) {
        self.write(&[i]);
    }

    fn write_u32(&mut self, i: u32) {
        self.write(&i.to_le_bytes());
    }

    fn write_usize(&mut self, i: usize) {
        self.write(&(i as u64).to_le_bytes());
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// Builds [`FxHasher`]s.
pub type FxBuild = std::hash::BuildHasherDefault<FxHasher>;

/// JSON pointers (RFC 6901) read without allocating: serde_json's `Value::pointer` makes a new
/// string of every token, and the simulator and the status reader look up paths hundreds of
/// thousands of times. Same answers as `Value::pointer` (an array index is digits without a
/// sign or a leading zero).
pub trait Pointer {
    fn at(&self, pointer: &str) -> Option<&serde_json::Value>;
    fn at_mut(&mut self, pointer: &str) -> Option<&mut serde_json::Value>;
}

fn pointer_tokens(pointer: &str) -> Option<impl Iterator<Item = std::borrow::Cow<'_, str>>> {
    if !pointer.is_empty() && !pointer.starts_with('/') {
        return None;
    }
    Some(pointer.split('/').skip(1).map(|t| {
        if t.contains('~') {
            std::borrow::Cow::Owned(t.replace("~1", "/").replace("~0", "~"))
        } else {
            std::borrow::Cow::Borrowed(t)
        }
    }))
}

fn pointer_index(s: &str) -> Option<usize> {
    if s.starts_with('+') || (s.starts_with('0') && s.len() != 1) {
        return None;
    }
    s.parse().ok()
}

impl Pointer for serde_json::Value {
    fn at(&self, pointer: &str) -> Option<&serde_json::Value> {
        use serde_json::Value;
        pointer_tokens(pointer)?.try_fold(self, |target, token| match target {
            Value::Object(map) => map.get(token.as_ref()),
            Value::Array(list) => pointer_index(&token).and_then(|i| list.get(i)),
            _ => None,
        })
    }

    fn at_mut(&mut self, pointer: &str) -> Option<&mut serde_json::Value> {
        use serde_json::Value;
        pointer_tokens(pointer)?.try_fold(self, |target, token| match target {
            Value::Object(map) => map.get_mut(token.as_ref()),
            Value::Array(list) => pointer_index(&token).and_then(move |i| list.get_mut(i)),
            _ => None,
        })
    }
}
