//! Go's `fmt` for template values: `Sprint`, `Sprintf` with its verbs, flags, width and
//! precision (including Go's `%!verb(type=value)` for mismatches), `strconv.Quote`, and the
//! shortest float formatting Go's `%v` uses.
//!
//! It formats values; it never evaluates or converts them for functions.

use crate::value::Value;
use std::fmt::Write;

/// Go's strconv.Quote: double-quoted, with Go escapes; printable Unicode kept.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        quote_char(&mut out, c, '"');
    }
    out.push('"');
    out
}

fn quote_char(out: &mut String, c: char, q: char) {
    match c {
        '\x07' => out.push_str("\\a"),
        '\x08' => out.push_str("\\b"),
        '\x0c' => out.push_str("\\f"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        '\x0b' => out.push_str("\\v"),
        '\\' => out.push_str("\\\\"),
        c if c == q => {
            out.push('\\');
            out.push(c);
        }
        c if is_print(c) => out.push(c),
        c if (c as u32) < 0x80 => {
            let _ = write!(out, "\\x{:02x}", c as u32);
        }
        c if (c as u32) < 0x10000 => {
            let _ = write!(out, "\\u{:04x}", c as u32);
        }
        c => {
            let _ = write!(out, "\\U{:08x}", c as u32);
        }
    }
}

/// An approximation of Go's unicode.IsPrint: graphic characters and the ASCII space.
pub fn is_print(c: char) -> bool {
    if c == ' ' {
        return true;
    }
    if c.is_control() || c.is_whitespace() {
        return false;
    }
    let u = c as u32;
    // Unassigned, private-use, surrogates, format characters.
    !(matches!(u, 0xad | 0x600..=0x605 | 0x61c | 0x6dd | 0x70f | 0x180e | 0x200b..=0x200f | 0x202a..=0x202e | 0x2060..=0x2064 | 0x2066..=0x206f | 0xfeff | 0xfff9..=0xfffb | 0xe000..=0xf8ff | 0xfffe | 0xffff)
        || u >= 0xf0000)
}

/// Go's `%#U`: `U+0041 'A'`.
pub fn unicode_u(c: char) -> String {
    if is_print(c) {
        format!("U+{:04X} '{c}'", c as u32)
    } else {
        format!("U+{:04X}", c as u32)
    }
}

/// Go's `strconv.FormatFloat(f, fmt, prec, 64)` for the formats templates use.
pub fn format_float(f: f64, fmt: char, prec: Option<usize>) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    match fmt {
        'f' | 'F' => format!("{:.*}", prec.unwrap_or(6), f),
        'e' | 'E' => {
            let s = match prec {
                Some(p) => format!("{:.*e}", p, f),
                None => format!("{f:e}"),
            };
            let s = go_exponent(&s);
            if fmt == 'E' { s.to_uppercase() } else { s }
        }
        _ => {
            // 'g': shortest (or `prec` significant digits), %e when the exponent is < -4 or >=
            // the precision (21 for shortest, as Go's %v does... no: 21 only for JSON; fmt uses
            // the shortest digit count, min 6 per strconv: eprec = 6 when shortest).
            let (digits, exp) = decimal_digits(f, prec);
            let neg = f.is_sign_negative() && f != 0.0 || (f == 0.0 && f.is_sign_negative());
            let mut eprec = match prec {
                None => 6,
                Some(p) => p.max(1),
            };
            if prec.is_some() && eprec > digits.len() && digits.len() as i32 > exp {
                eprec = digits.len();
            }
            if prec.is_none() {
                eprec = 6;
            }
            let x = exp;
            let mut out = String::new();
            if neg {
                out.push('-');
            }
            if x < -4 || x >= eprec as i32 {
                out.push_str(&digits[..1]);
                if digits.len() > 1 {
                    out.push('.');
                    out.push_str(&digits[1..]);
                }
                let e = if fmt == 'G' { 'E' } else { 'e' };
                let _ = write!(out, "{e}{}{:02}", if x < 0 { '-' } else { '+' }, x.abs());
            } else if x < 0 {
                out.push_str("0.");
                for _ in 0..(-x - 1) {
                    out.push('0');
                }
                out.push_str(&digits);
            } else {
                let int_len = (x + 1) as usize;
                if digits.len() <= int_len {
                    out.push_str(&digits);
                    for _ in digits.len()..int_len {
                        out.push('0');
                    }
                } else {
                    out.push_str(&digits[..int_len]);
                    out.push('.');
                    out.push_str(&digits[int_len..]);
                }
            }
            out
        }
    }
}

/// The significant decimal digits of |f| (shortest round-trip, or `prec` digits) and the
/// decimal exponent of the first digit.
fn decimal_digits(f: f64, prec: Option<usize>) -> (String, i32) {
    if f == 0.0 {
        return ("0".into(), 0);
    }
    let s = match prec {
        Some(p) => format!("{:.*e}", p.max(1) - 1, f.abs()),
        None => format!("{:e}", f.abs()),
    };
    let (mant, exp) = s.split_once('e').unwrap();
    let mut digits: String = mant.chars().filter(|c| c.is_ascii_digit()).collect();
    if prec.is_some() {
        while digits.len() > 1 && digits.ends_with('0') {
            digits.pop();
        }
    }
    (digits, exp.parse().unwrap())
}

/// Rust's `1.5e3` -> Go's `1.5e+03`.
fn go_exponent(s: &str) -> String {
    let Some((m, e)) = s.split_once('e') else {
        return s.to_string();
    };
    let (sign, digits) = match e.strip_prefix('-') {
        Some(d) => ('-', d),
        None => ('+', e),
    };
    format!("{m}e{sign}{digits:0>2}")
}

/// fmt.Sprint of one value, as `{{ . }}` and `%v` print it.
pub fn sprint_value(v: &Value) -> String {
    let mut s = String::new();
    write_v(&mut s, v, 0);
    s
}

fn write_v(s: &mut String, v: &Value, depth: usize) {
    crate::grow(|| write_v_inner(s, v, depth))
}

fn write_v_inner(s: &mut String, v: &Value, depth: usize) {
    if depth > crate::value::MAX_DEPTH || s.len() > 64 << 20 {
        // A map that contains itself prints forever in Go (until its stack overflows); stop.
        s.push_str("...");
        return;
    }
    match v {
        Value::Nil => s.push_str("<nil>"),
        Value::Bool(b) => s.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) => {
            let _ = write!(s, "{i}");
        }
        Value::Float(f) => s.push_str(&format_float(*f, 'g', None)),
        Value::String(t) => s.push_str(t),
        Value::Bytes(b) => {
            s.push('[');
            for (i, x) in b.iter().enumerate() {
                if i > 0 {
                    s.push(' ');
                }
                let _ = write!(s, "{x}");
            }
            s.push(']');
        }
        Value::List(l) => {
            s.push('[');
            for (i, x) in l.iter().enumerate() {
                if i > 0 {
                    s.push(' ');
                }
                write_v(s, x, depth + 1);
            }
            s.push(']');
        }
        Value::Map(m) => {
            s.push_str("map[");
            for (i, (k, x)) in m.borrow().iter().enumerate() {
                if i > 0 {
                    s.push(' ');
                }
                s.push_str(k);
                s.push(':');
                write_v(s, x, depth + 1);
            }
            s.push(']');
        }
        Value::Object(o) => s.push_str(&o.print()),
    }
}

/// fmt.Sprint(args...): spaces between operands when neither side is a string.
pub fn sprint(args: &[Value]) -> String {
    let mut s = String::new();
    for (i, a) in args.iter().enumerate() {
        let is_str = matches!(a, Value::String(_));
        if i > 0 && !is_str && !matches!(args[i - 1], Value::String(_)) {
            s.push(' ');
        }
        write_v(&mut s, a, 0);
    }
    s
}

/// fmt.Sprintln(args...): always spaces, then a newline.
pub fn sprintln(args: &[Value]) -> String {
    let mut s = args.iter().map(sprint_value).collect::<Vec<_>>().join(" ");
    s.push('\n');
    s
}

/// Widths and precisions are capped here, so `%999999999d` cannot allocate a gigabyte.
const MAX_WIDTH: usize = 1 << 20;

#[derive(Default, Clone, Copy)]
struct Flags {
    plus: bool,
    minus: bool,
    sharp: bool,
    space: bool,
    zero: bool,
    width: Option<usize>,
    prec: Option<usize>,
}

/// fmt.Sprintf(format, args...).
pub fn sprintf(format: &str, args: &[Value]) -> String {
    let mut out = String::new();
    let mut argi = 0;
    let mut chars = format.char_indices().peekable();
    while let Some((_, c)) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut f = Flags::default();
        loop {
            match chars.peek().map(|x| x.1) {
                Some('+') => f.plus = true,
                Some('-') => f.minus = true,
                Some('#') => f.sharp = true,
                Some(' ') => f.space = true,
                Some('0') => f.zero = true,
                _ => break,
            }
            chars.next();
        }
        // Width.
        if chars.peek().map(|x| x.1) == Some('*') {
            chars.next();
            if let Some(Value::Int(w)) = args.get(argi) {
                if *w < 0 {
                    f.minus = true;
                }
                f.width = Some((w.unsigned_abs() as usize).min(MAX_WIDTH));
            } else {
                out.push_str("%!(BADWIDTH)");
            }
            argi += 1;
        } else {
            let mut w = None;
            while let Some(d) = chars.peek().and_then(|x| x.1.to_digit(10)) {
                w = Some((w.unwrap_or(0) * 10 + d as usize).min(MAX_WIDTH));
                chars.next();
            }
            f.width = w;
        }
        if chars.peek().map(|x| x.1) == Some('.') {
            chars.next();
            if chars.peek().map(|x| x.1) == Some('*') {
                chars.next();
                if let Some(Value::Int(p)) = args.get(argi) {
                    f.prec = if *p >= 0 {
                        Some((*p as usize).min(MAX_WIDTH))
                    } else {
                        None
                    };
                } else {
                    out.push_str("%!(BADPREC)");
                }
                argi += 1;
            } else {
                let mut p = 0;
                while let Some(d) = chars.peek().and_then(|x| x.1.to_digit(10)) {
                    p = (p * 10 + d as usize).min(MAX_WIDTH);
                    chars.next();
                }
                f.prec = Some(p);
            }
        }
        let Some((_, verb)) = chars.next() else {
            out.push_str("%!(NOVERB)");
            break;
        };
        if verb == '%' {
            out.push('%');
            continue;
        }
        let Some(arg) = args.get(argi) else {
            let _ = write!(out, "%!{verb}(MISSING)");
            continue;
        };
        argi += 1;
        format_one(&mut out, verb, f, arg);
    }
    if argi < args.len() {
        out.push_str("%!(EXTRA ");
        for (i, a) in args[argi..].iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            match a {
                Value::Nil => out.push_str("<nil>"),
                a => {
                    let _ = write!(out, "{}={}", a.type_name(), sprint_value(a));
                }
            }
        }
        out.push(')');
    }
    out
}

fn pad(out: &mut String, s: &str, f: Flags, zero_ok: bool) {
    let len = s.chars().count();
    let w = f.width.unwrap_or(0);
    if len >= w {
        out.push_str(s);
        return;
    }
    let n = w - len;
    if f.minus {
        out.push_str(s);
        out.extend(std::iter::repeat_n(' ', n));
    } else if f.zero && zero_ok {
        // Zeros go after a sign.
        let (sign, rest) = match s.chars().next() {
            Some(c @ ('-' | '+' | ' ')) => (Some(c), &s[1..]),
            _ => (None, s),
        };
        if let Some(c) = sign {
            out.push(c);
        }
        out.extend(std::iter::repeat_n('0', n));
        out.push_str(rest);
    } else {
        out.extend(std::iter::repeat_n(' ', n));
        out.push_str(s);
    }
}

fn bad_verb(out: &mut String, verb: char, v: &Value) {
    match v {
        Value::Nil => {
            let _ = write!(out, "%!{verb}(<nil>)");
        }
        v => {
            let _ = write!(out, "%!{verb}({}={})", v.type_name(), sprint_value(v));
        }
    }
}

fn fmt_int(i: i128, verb: char, f: Flags) -> Option<String> {
    let neg = i < 0;
    let a = i.unsigned_abs();
    let mut digits = match verb {
        'd' | 'v' => a.to_string(),
        'x' => format!("{a:x}"),
        'X' => format!("{a:X}"),
        'o' | 'O' => format!("{a:o}"),
        'b' => format!("{a:b}"),
        _ => return None,
    };
    if let Some(p) = f.prec {
        if p == 0 && a == 0 {
            digits.clear();
        }
        while digits.len() < p {
            digits.insert(0, '0');
        }
    }
    let prefix = match verb {
        'x' if f.sharp => "0x",
        'X' if f.sharp => "0X",
        'o' if f.sharp => "0",
        'O' => "0o",
        'b' if f.sharp => "0b",
        _ => "",
    };
    let sign = if neg {
        "-"
    } else if f.plus {
        "+"
    } else if f.space {
        " "
    } else {
        ""
    };
    Some(format!("{sign}{prefix}{digits}"))
}

fn format_one(out: &mut String, verb: char, f: Flags, v: &Value) {
    let zero_ok = f.prec.is_none();
    match (verb, v) {
        ('T', v) => pad(out, &v.type_name(), f, false),
        ('v', Value::Int(i)) | ('d' | 'x' | 'X' | 'o' | 'O' | 'b', Value::Int(i)) => {
            let s = fmt_int(*i as i128, verb, f).unwrap();
            pad(out, &s, f, zero_ok);
        }
        ('c', Value::Int(i)) => pad(
            out,
            &char::from_u32(*i as u32).unwrap_or('\u{fffd}').to_string(),
            f,
            false,
        ),
        ('q', Value::Int(i)) => {
            let c = char::from_u32(*i as u32).unwrap_or('\u{fffd}');
            let mut s = String::from("'");
            quote_char(&mut s, c, '\'');
            s.push('\'');
            pad(out, &s, f, false)
        }
        ('U', Value::Int(i)) => {
            let s = if f.sharp {
                unicode_u(char::from_u32(*i as u32).unwrap_or('\u{fffd}'))
            } else {
                format!("U+{:04X}", i)
            };
            pad(out, &s, f, false)
        }
        ('v' | 'g' | 'G' | 'e' | 'E' | 'f' | 'F', Value::Float(x)) => {
            let fv = match verb {
                'v' => 'g',
                c => c,
            };
            let prec = match fv {
                'e' | 'E' | 'f' | 'F' => Some(f.prec.unwrap_or(6)),
                _ => f.prec,
            };
            let mut s = format_float(*x, fv, prec);
            if f.plus && !s.starts_with('-') {
                s.insert(0, '+');
            } else if f.space && !s.starts_with('-') {
                s.insert(0, ' ');
            }
            pad(out, &s, f, true)
        }
        ('x' | 'X', Value::Float(x)) => bad_verb(out, verb, &Value::Float(*x)),
        ('t' | 'v', Value::Bool(b)) => pad(out, if *b { "true" } else { "false" }, f, false),
        ('s' | 'v', Value::String(s)) => {
            let s: String = match f.prec {
                Some(p) => s.chars().take(p).collect(),
                None => s.to_string(),
            };
            pad(out, &s, f, false)
        }
        ('q', Value::String(s)) => {
            let q = if f.sharp && !s.contains('`') {
                format!("`{s}`")
            } else {
                quote(s)
            };
            pad(out, &q, f, false)
        }
        ('x' | 'X', Value::String(s)) => {
            let mut h = String::new();
            for (i, b) in s.bytes().enumerate() {
                if f.space && i > 0 {
                    h.push(' ');
                }
                if verb == 'x' {
                    let _ = write!(h, "{b:02x}");
                } else {
                    let _ = write!(h, "{b:02X}");
                }
            }
            pad(out, &h, f, false)
        }
        ('s' | 'v', Value::Bytes(b)) if verb == 's' => {
            pad(out, &String::from_utf8_lossy(b), f, false)
        }
        (_, Value::Nil) => {
            if verb == 'v' {
                pad(out, "<nil>", f, false)
            } else {
                bad_verb(out, verb, v)
            }
        }
        ('v', v) => pad(out, &sprint_value(v), f, false),
        ('s', Value::List(l)) | ('d', Value::List(l)) | ('q', Value::List(l)) => {
            // Go applies the verb to each element.
            let mut s = String::from("[");
            for (i, x) in l.iter().enumerate() {
                if i > 0 {
                    s.push(' ');
                }
                format_one(&mut s, verb, Flags { width: None, ..f }, x);
            }
            s.push(']');
            pad(out, &s, f, false)
        }
        ('s' | 'd' | 'q', Value::Map(m)) => {
            let mut s = String::from("map[");
            for (i, (k, x)) in m.borrow().iter().enumerate() {
                if i > 0 {
                    s.push(' ');
                }
                format_one(&mut s, verb, Flags::default(), &Value::str(k.as_str()));
                s.push(':');
                format_one(&mut s, verb, Flags::default(), x);
            }
            s.push(']');
            pad(out, &s, f, false)
        }
        ('s', Value::Object(o)) => pad(out, &o.print(), f, false),
        (verb, v) => bad_verb(out, verb, v),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_as_go_prints_them() {
        for (f, want) in [
            (3.0, "3"),
            (2.5, "2.5"),
            (12345678901.0, "1.2345678901e+10"),
            (9007199254740993.0, "9.007199254740992e+15"),
            (100000.0, "100000"),
            (1000000.0, "1e+06"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (-1.5, "-1.5"),
            (0.1, "0.1"),
        ] {
            assert_eq!(format_float(f, 'g', None), want, "{f}");
        }
        assert_eq!(
            sprintf(
                "%.2f|%5d|%-4s|%05d|%x|%q|%v",
                &[
                    Value::Float(1.23456),
                    Value::Int(42),
                    "ab".into(),
                    Value::Int(-42),
                    Value::Int(255),
                    "a\"b".into(),
                    Value::Nil
                ]
            ),
            "1.23|   42|ab  |-0042|ff|\"a\\\"b\"|<nil>"
        );
        assert_eq!(
            sprintf("%d %s", &["x".into()]),
            "%!d(string=x) %!s(MISSING)"
        );
        assert_eq!(
            sprintf("%s", &["x".into(), Value::Int(3)]),
            "x%!(EXTRA int=3)"
        );
        assert_eq!(format_float(1.5, 'e', Some(6)), "1.500000e+00");
        assert_eq!(format_float(123456.0, 'g', Some(3)), "1.23e+05");
    }
}
