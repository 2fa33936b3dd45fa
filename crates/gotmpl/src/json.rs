//! Go's encoding/json for template values: `toJson` (HTML characters escaped), `toRawJson`,
//! `toPrettyJson`, and `fromJson` (numbers as float64, as Go decodes into interface{}).

use crate::value::{Map, Value};

/// json.Marshal; `raw` leaves `<`, `>` and `&` unescaped (Sprig's toRawJson).
pub fn to_json(v: &Value, raw: bool) -> Result<String, String> {
    let mut out = String::new();
    write(&mut out, v, !raw, None, 0, 0)?;
    Ok(out)
}

/// json.MarshalIndent(v, "", "  ").
pub fn to_pretty_json(v: &Value, escape_html: bool) -> Result<String, String> {
    let mut out = String::new();
    write(&mut out, v, escape_html, Some("  "), 0, 0)?;
    Ok(out)
}

fn newline(out: &mut String, indent: Option<&str>, level: usize) {
    if let Some(i) = indent {
        out.push('\n');
        for _ in 0..level {
            out.push_str(i);
        }
    }
}

fn write(
    out: &mut String,
    v: &Value,
    html: bool,
    indent: Option<&str>,
    level: usize,
    depth: usize,
) -> Result<(), String> {
    crate::grow(|| write_inner(out, v, html, indent, level, depth))
}

fn write_inner(
    out: &mut String,
    v: &Value,
    html: bool,
    indent: Option<&str>,
    level: usize,
    depth: usize,
) -> Result<(), String> {
    if depth > 1000 {
        return Err("json: unsupported value: encountered a cycle".into());
    }
    match v {
        Value::Nil => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) => out.push_str(&i.to_string()),
        Value::Float(f) => out.push_str(&float(*f)?),
        Value::String(s) => quote(out, s, html),
        Value::Bytes(b) => {
            out.push('"');
            out.push_str(&crate::encoding::base64_encode(b));
            out.push('"');
        }
        Value::List(l) => {
            if l.is_empty() {
                out.push_str("[]");
                return Ok(());
            }
            out.push('[');
            for (k, x) in l.iter().enumerate() {
                if k > 0 {
                    out.push(',');
                }
                newline(out, indent, level + 1);
                write(out, x, html, indent, level + 1, depth + 1)?;
            }
            newline(out, indent, level);
            out.push(']');
        }
        Value::Map(m) => {
            let m = m.borrow();
            if m.is_empty() {
                out.push_str("{}");
                return Ok(());
            }
            out.push('{');
            for (k, (key, x)) in m.iter().enumerate() {
                if k > 0 {
                    out.push(',');
                }
                newline(out, indent, level + 1);
                quote(out, key, html);
                out.push(':');
                if indent.is_some() {
                    out.push(' ');
                }
                write(out, x, html, indent, level + 1, depth + 1)?;
            }
            newline(out, indent, level);
            out.push('}');
        }
        Value::Object(o) => write(out, &o.to_data(), html, indent, level, depth + 1)?,
    }
    Ok(())
}

/// Go's float64 encoding: shortest digits, %e only below 1e-6 or from 1e21.
pub fn float(f: f64) -> Result<String, String> {
    if !f.is_finite() {
        return Err(format!(
            "json: unsupported value: {}",
            crate::gofmt::format_float(f, 'g', None)
        ));
    }
    let a = f.abs();
    if a != 0.0 && !(1e-6..1e21).contains(&a) {
        let s = format!("{f:e}");
        let (m, e) = s.split_once('e').unwrap();
        let (sign, d) = match e.strip_prefix('-') {
            Some(d) => ('-', d),
            None => ('+', e),
        };
        return Ok(format!("{m}e{sign}{d}"));
    }
    let s = format!("{f}");
    Ok(if s == "-0" { "-0".into() } else { s })
}

pub fn quote(out: &mut String, s: &str, html: bool) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '<' | '>' | '&' if html => out.push_str(&format!("\\u{:04x}", c as u32)),
            '\u{2028}' | '\u{2029}' => out.push_str(&format!("\\u{:04x}", c as u32)),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// json.Unmarshal into interface{}: objects, arrays, strings, float64 numbers, bools, null.
pub fn from_json(s: &str) -> Result<Value, String> {
    let mut p = Parser {
        b: s.as_bytes(),
        i: 0,
        depth: 0,
    };
    p.ws();
    let v = p.value()?;
    p.ws();
    if p.i < p.b.len() {
        return Err(format!(
            "invalid character {} after top-level value",
            p.char_desc()
        ));
    }
    Ok(v)
}

struct Parser<'a> {
    b: &'a [u8],
    i: usize,
    depth: usize,
}

impl Parser<'_> {
    fn ws(&mut self) {
        while self.i < self.b.len() && matches!(self.b[self.i], b' ' | b'\t' | b'\n' | b'\r') {
            self.i += 1;
        }
    }

    fn char_desc(&self) -> String {
        match self.b.get(self.i) {
            Some(c) => format!("'{}'", *c as char),
            None => "end".into(),
        }
    }

    fn value(&mut self) -> Result<Value, String> {
        self.depth += 1;
        if self.depth > 10_000 {
            return Err("exceeded max depth".into());
        }
        let r = crate::grow(|| self.value_inner());
        self.depth -= 1;
        r
    }

    fn value_inner(&mut self) -> Result<Value, String> {
        match self.b.get(self.i) {
            None => Err("unexpected end of JSON input".into()),
            Some(b'{') => {
                self.i += 1;
                let mut m = Map::new();
                self.ws();
                if self.b.get(self.i) == Some(&b'}') {
                    self.i += 1;
                    return Ok(Value::map(m));
                }
                loop {
                    self.ws();
                    if self.b.get(self.i) != Some(&b'"') {
                        return Err(format!(
                            "invalid character {} looking for beginning of object key string",
                            self.char_desc()
                        ));
                    }
                    let k = self.string()?;
                    self.ws();
                    if self.b.get(self.i) != Some(&b':') {
                        return Err(format!(
                            "invalid character {} after object key",
                            self.char_desc()
                        ));
                    }
                    self.i += 1;
                    self.ws();
                    let v = self.value()?;
                    m.insert(k, v);
                    self.ws();
                    match self.b.get(self.i) {
                        Some(b',') => self.i += 1,
                        Some(b'}') => {
                            self.i += 1;
                            return Ok(Value::map(m));
                        }
                        None => return Err("unexpected end of JSON input".into()),
                        _ => {
                            return Err(format!(
                                "invalid character {} after object key:value pair",
                                self.char_desc()
                            ));
                        }
                    }
                }
            }
            Some(b'[') => {
                self.i += 1;
                let mut l = Vec::new();
                self.ws();
                if self.b.get(self.i) == Some(&b']') {
                    self.i += 1;
                    return Ok(Value::list(l));
                }
                loop {
                    self.ws();
                    l.push(self.value()?);
                    self.ws();
                    match self.b.get(self.i) {
                        Some(b',') => self.i += 1,
                        Some(b']') => {
                            self.i += 1;
                            return Ok(Value::list(l));
                        }
                        None => return Err("unexpected end of JSON input".into()),
                        _ => {
                            return Err(format!(
                                "invalid character {} after array element",
                                self.char_desc()
                            ));
                        }
                    }
                }
            }
            Some(b'"') => Ok(Value::from(self.string()?)),
            Some(b't') => self.lit("true", Value::Bool(true)),
            Some(b'f') => self.lit("false", Value::Bool(false)),
            Some(b'n') => self.lit("null", Value::Nil),
            Some(c) if *c == b'-' || c.is_ascii_digit() => {
                let start = self.i;
                self.i += 1;
                while self.i < self.b.len()
                    && matches!(
                        self.b[self.i],
                        b'0'..=b'9' | b'.' | b'e' | b'E' | b'+' | b'-'
                    )
                {
                    self.i += 1;
                }
                let t = std::str::from_utf8(&self.b[start..self.i]).unwrap_or("");
                t.parse::<f64>()
                    .map(Value::Float)
                    .map_err(|_| format!("invalid number literal {t:?}"))
            }
            Some(_) => Err(format!(
                "invalid character {} looking for beginning of value",
                self.char_desc()
            )),
        }
    }

    fn lit(&mut self, word: &str, v: Value) -> Result<Value, String> {
        if self.b[self.i..].starts_with(word.as_bytes()) {
            self.i += word.len();
            Ok(v)
        } else {
            Err(format!(
                "invalid character {} in literal {word} (expecting '{}')",
                self.char_desc(),
                &word[..1]
            ))
        }
    }

    fn string(&mut self) -> Result<String, String> {
        self.i += 1;
        let mut out = Vec::new();
        loop {
            let Some(&c) = self.b.get(self.i) else {
                return Err("unexpected end of JSON input".into());
            };
            self.i += 1;
            match c {
                b'"' => return Ok(String::from_utf8_lossy(&out).into_owned()),
                b'\\' => {
                    let Some(&e) = self.b.get(self.i) else {
                        return Err("unexpected end of JSON input".into());
                    };
                    self.i += 1;
                    match e {
                        b'"' => out.push(b'"'),
                        b'\\' => out.push(b'\\'),
                        b'/' => out.push(b'/'),
                        b'b' => out.push(8),
                        b'f' => out.push(12),
                        b'n' => out.push(b'\n'),
                        b'r' => out.push(b'\r'),
                        b't' => out.push(b'\t'),
                        b'u' => {
                            let mut cp = self.hex4()?;
                            if (0xD800..0xDC00).contains(&cp)
                                && self.b[self.i..].starts_with(b"\\u")
                            {
                                self.i += 2;
                                let lo = self.hex4()?;
                                cp = 0x10000
                                    + ((cp - 0xD800) << 10)
                                    + (lo.wrapping_sub(0xDC00) & 0x3ff);
                            }
                            let ch = char::from_u32(cp).unwrap_or('\u{FFFD}');
                            let mut buf = [0; 4];
                            out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                        }
                        _ => return Err("invalid character in string escape code".into()),
                    }
                }
                c if c < 0x20 => return Err("invalid character in string literal".into()),
                c => out.push(c),
            }
        }
    }

    fn hex4(&mut self) -> Result<u32, String> {
        let h = self
            .b
            .get(self.i..self.i + 4)
            .ok_or("unexpected end of JSON input")?;
        self.i += 4;
        u32::from_str_radix(std::str::from_utf8(h).unwrap_or("x"), 16)
            .map_err(|_| "invalid character in \\u hexadecimal character escape".to_string())
    }
}
