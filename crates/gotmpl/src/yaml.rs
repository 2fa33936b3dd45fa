//! YAML as Helm reads and writes it. [`to_yaml`] is `sigs.k8s.io/yaml.Marshal` (JSON first, then
//! go-yaml v2's emitter): keys in go-yaml's natural order, strings that would read back as
//! something else double-quoted, `|`/`|-`/`|+` for multi-line text, long plain and quoted
//! lines folded at 80 columns, sequences not indented under their key. [`from_yaml`] is
//! `sigs.k8s.io/yaml.Unmarshal` into `interface{}`: YAML 1.1 scalars (`yes`, `on`, `0x1F`,
//! `0777`), merge keys and aliases, then every number as float64, as the JSON step leaves it.
//!
//! Only block style is emitted (empty collections as `{}` and `[]`), as go-yaml does for
//! decoded data; anchors and tags are never written.

use crate::value::{Map, Value};
use granit_parser::{Event, Parser, ScalarStyle};
use std::collections::HashMap;

// ---------------------------------------------------------------------------------------
// Writing.

/// `sigs.k8s.io/yaml.Marshal(v)`: the text, ending in a newline.
pub fn to_yaml(v: &Value) -> Result<String, String> {
    emit(v, false)
}

/// Helm's `toYamlPretty` (go-yaml v3's encoder, indent 2): sequences indented under their key.
pub fn to_yaml_pretty(v: &Value) -> Result<String, String> {
    emit(v, true)
}

fn emit(v: &Value, indent_sequences: bool) -> Result<String, String> {
    let data = normalize(v, 0)?;
    let mut e = Emitter {
        out: String::new(),
        column: 0,
        indent: -1,
        indents: Vec::new(),
        whitespace: true,
        indention: true,
        flow_level: 0,
        indent_sequences,
    };
    e.node(
        &data,
        Ctx {
            mapping: false,
            simple_key: false,
        },
    );
    // Document end.
    e.write_indent();
    Ok(e.out)
}

/// The data as the JSON round trip leaves it: floats that are whole numbers become integers
/// (go-yaml reads `3` back as an int), host objects become data.
fn normalize(v: &Value, depth: usize) -> Result<Value, String> {
    crate::grow(|| normalize_inner(v, depth))
}

fn normalize_inner(v: &Value, depth: usize) -> Result<Value, String> {
    if depth > 10_000 {
        return Err("json: unsupported value: encountered a cycle".into());
    }
    Ok(match v {
        Value::Float(f) => {
            if !f.is_finite() {
                return Err(format!(
                    "json: unsupported value: {}",
                    crate::gofmt::format_float(*f, 'g', None)
                ));
            }
            Value::Float(*f)
        }
        Value::Bytes(b) => Value::from(crate::encoding::base64_encode(b)),
        Value::List(l) => Value::list(
            l.iter()
                .map(|x| normalize(x, depth + 1))
                .collect::<Result<_, _>>()?,
        ),
        Value::Map(m) => Value::map(
            m.borrow()
                .iter()
                .map(|(k, x)| Ok((k.clone(), normalize(x, depth + 1)?)))
                .collect::<Result<_, String>>()?,
        ),
        Value::Object(o) => normalize(&o.to_data(), depth + 1)?,
        other => other.clone(),
    })
}

/// The plain text go-yaml writes for a number that went through JSON.
fn number_text(v: &Value) -> String {
    match v {
        Value::Int(i) => i.to_string(),
        Value::Float(f) => {
            let json = crate::json::float(*f).unwrap_or_default();
            // go-yaml reads the JSON number back: an integer when it has no '.', 'e' or 'E'.
            if !json.contains(['.', 'e', 'E']) {
                if let Ok(i) = json.parse::<i64>() {
                    return i.to_string();
                }
                if let Ok(u) = json.parse::<u64>() {
                    return u.to_string();
                }
            }
            crate::gofmt::format_float(json.parse().unwrap_or(*f), 'g', None)
        }
        _ => String::new(),
    }
}

#[derive(Clone, Copy)]
struct Ctx {
    mapping: bool,
    simple_key: bool,
}

struct Emitter {
    out: String,
    column: usize,
    indent: i64,
    indents: Vec<i64>,
    whitespace: bool,
    indention: bool,
    flow_level: usize,
    indent_sequences: bool,
}

const BEST_WIDTH: usize = 80;
const BEST_INDENT: i64 = 2;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Style {
    Plain,
    Single,
    Double,
    Literal,
}

struct Analysis {
    multiline: bool,
    flow_plain: bool,
    block_plain: bool,
    single: bool,
    block: bool,
}

fn is_printable(c: char) -> bool {
    let u = c as u32;
    u == 0x0A
        || (0x20..=0x7E).contains(&u)
        || (0xA0..=0xD7FF).contains(&u)
        || ((0xE000..=0xFFFD).contains(&u) && u != 0xFEFF)
}

fn is_break(c: char) -> bool {
    matches!(c, '\r' | '\n' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

fn analyze(value: &str) -> Analysis {
    if value.is_empty() {
        return Analysis {
            multiline: false,
            flow_plain: false,
            block_plain: true,
            single: true,
            block: false,
        };
    }
    let mut block_ind = false;
    let mut flow_ind = false;
    let mut line_breaks = false;
    let mut special = false;
    let (mut leading_space, mut leading_break, mut trailing_space, mut trailing_break) =
        (false, false, false, false);
    let (mut break_space, mut space_break) = (false, false);
    let (mut prev_space, mut prev_break) = (false, false);
    if value.starts_with("---") || value.starts_with("...") {
        block_ind = true;
        flow_ind = true;
    }
    let chars: Vec<char> = value.chars().collect();
    let mut preceded_by_ws = true;
    for (i, &c) in chars.iter().enumerate() {
        let next = chars.get(i + 1).copied();
        let followed_by_ws = next.is_none_or(|n| n == ' ' || n == '\t' || is_break(n));
        if i == 0 {
            match c {
                '#' | ',' | '[' | ']' | '{' | '}' | '&' | '*' | '!' | '|' | '>' | '\'' | '"'
                | '%' | '@' | '`' => {
                    flow_ind = true;
                    block_ind = true;
                }
                '?' | ':' => {
                    flow_ind = true;
                    if followed_by_ws {
                        block_ind = true;
                    }
                }
                '-' if followed_by_ws => {
                    flow_ind = true;
                    block_ind = true;
                }
                _ => {}
            }
        } else {
            match c {
                ',' | '?' | '[' | ']' | '{' | '}' => flow_ind = true,
                ':' => {
                    flow_ind = true;
                    if followed_by_ws {
                        block_ind = true;
                    }
                }
                '#' if preceded_by_ws => {
                    flow_ind = true;
                    block_ind = true;
                }
                _ => {}
            }
        }
        if !is_printable(c) {
            special = true;
        }
        if c == ' ' {
            if i == 0 {
                leading_space = true;
            }
            if i + 1 == chars.len() {
                trailing_space = true;
            }
            if prev_break {
                break_space = true;
            }
            prev_space = true;
            prev_break = false;
        } else if is_break(c) {
            line_breaks = true;
            if i == 0 {
                leading_break = true;
            }
            if i + 1 == chars.len() {
                trailing_break = true;
            }
            if prev_space {
                space_break = true;
            }
            prev_space = false;
            prev_break = true;
        } else {
            prev_space = false;
            prev_break = false;
        }
        preceded_by_ws = c == ' ' || c == '\t' || is_break(c);
    }
    let mut a = Analysis {
        multiline: line_breaks,
        flow_plain: true,
        block_plain: true,
        single: true,
        block: true,
    };
    if leading_space || leading_break || trailing_space || trailing_break {
        a.flow_plain = false;
        a.block_plain = false;
    }
    if trailing_space {
        a.block = false;
    }
    if break_space {
        a.flow_plain = false;
        a.block_plain = false;
        a.single = false;
    }
    if space_break || special {
        a.flow_plain = false;
        a.block_plain = false;
        a.single = false;
        a.block = false;
    }
    if line_breaks {
        a.flow_plain = false;
        a.block_plain = false;
    }
    if flow_ind {
        a.flow_plain = false;
    }
    if block_ind {
        a.block_plain = false;
    }
    a
}

impl Emitter {
    fn put(&mut self, c: char) {
        self.out.push(c);
        self.column += 1;
    }

    fn put_break(&mut self) {
        self.out.push('\n');
        self.column = 0;
        self.indention = true;
    }

    fn write_str(&mut self, s: &str) {
        for c in s.chars() {
            self.put(c);
        }
    }

    fn write_indent(&mut self) {
        let indent = self.indent.max(0) as usize;
        if !self.indention || self.column > indent || (self.column == indent && !self.whitespace) {
            self.put_break();
        }
        while self.column < indent {
            self.put(' ');
        }
        self.whitespace = true;
        self.indention = true;
    }

    fn write_indicator(&mut self, ind: &str, need_ws: bool, is_ws: bool, is_indention: bool) {
        if need_ws && !self.whitespace {
            self.put(' ');
        }
        self.write_str(ind);
        self.whitespace = is_ws;
        self.indention = self.indention && is_indention;
    }

    fn increase_indent(&mut self, flow: bool, indentless: bool) {
        self.indents.push(self.indent);
        if self.indent < 0 {
            self.indent = if flow { BEST_INDENT } else { 0 };
        } else if !indentless {
            self.indent += BEST_INDENT;
        }
    }

    fn pop_indent(&mut self) {
        self.indent = self.indents.pop().unwrap_or(-1);
    }

    fn node(&mut self, v: &Value, ctx: Ctx) {
        crate::grow(|| self.node_inner(v, ctx))
    }

    fn node_inner(&mut self, v: &Value, ctx: Ctx) {
        match v {
            Value::Map(m) => {
                let m = m.borrow();
                if m.is_empty() || self.flow_level > 0 {
                    self.write_indicator("{", true, true, false);
                    self.increase_indent(true, false);
                    self.pop_indent();
                    self.write_indicator("}", false, false, false);
                    return;
                }
                self.increase_indent(false, false);
                let mut keys: Vec<&String> = m.keys().collect();
                keys.sort_by(|a, b| natural_cmp(a, b));
                for k in keys {
                    let val = &m[k];
                    self.write_indent();
                    let key = Value::from(k.as_str());
                    let simple = k.len() <= 128 && !k.contains(is_break);
                    if simple {
                        self.node(
                            &key,
                            Ctx {
                                mapping: true,
                                simple_key: true,
                            },
                        );
                        self.write_indicator(":", false, false, false);
                    } else {
                        self.write_indicator("?", true, false, true);
                        self.node(
                            &key,
                            Ctx {
                                mapping: true,
                                simple_key: false,
                            },
                        );
                        self.write_indent();
                        self.write_indicator(":", true, false, true);
                    }
                    self.node(
                        val,
                        Ctx {
                            mapping: true,
                            simple_key: false,
                        },
                    );
                }
                self.pop_indent();
            }
            Value::List(l) => {
                if l.is_empty() || self.flow_level > 0 {
                    self.write_indicator("[", true, true, false);
                    self.increase_indent(true, false);
                    self.pop_indent();
                    self.write_indicator("]", false, false, false);
                    return;
                }
                let indentless = ctx.mapping && !self.indention && !self.indent_sequences;
                self.increase_indent(false, indentless);
                for item in l.iter() {
                    self.write_indent();
                    self.write_indicator("-", true, false, true);
                    self.node(
                        item,
                        Ctx {
                            mapping: false,
                            simple_key: false,
                        },
                    );
                }
                self.pop_indent();
            }
            Value::String(s) => self.string(s, ctx),
            Value::Nil => self.scalar("null", Style::Plain, ctx),
            Value::Bool(b) => self.scalar(if *b { "true" } else { "false" }, Style::Plain, ctx),
            Value::Int(_) | Value::Float(_) => {
                let t = number_text(v);
                self.scalar(&t, Style::Plain, ctx)
            }
            Value::Bytes(_) | Value::Object(_) => self.scalar("", Style::Plain, ctx),
        }
    }

    fn string(&mut self, s: &str, ctx: Ctx) {
        let style = if s.contains('\n') {
            Style::Literal
        } else if resolves_as_string(s) {
            Style::Plain
        } else {
            Style::Double
        };
        self.scalar(s, style, ctx)
    }

    fn scalar(&mut self, value: &str, mut style: Style, ctx: Ctx) {
        let a = analyze(value);
        if ctx.simple_key && a.multiline {
            style = Style::Double;
        }
        if style == Style::Plain {
            if (self.flow_level > 0 && !a.flow_plain) || (self.flow_level == 0 && !a.block_plain) {
                style = Style::Single;
            }
            if value.is_empty() && (self.flow_level > 0 || ctx.simple_key) {
                style = Style::Single;
            }
        }
        if style == Style::Single && !a.single {
            style = Style::Double;
        }
        if style == Style::Literal && (!a.block || self.flow_level > 0 || ctx.simple_key) {
            style = Style::Double;
        }
        self.increase_indent(true, false);
        let allow_breaks = !ctx.simple_key;
        match style {
            Style::Plain => self.write_plain(value, allow_breaks),
            Style::Single => self.write_single(value, allow_breaks),
            Style::Double => self.write_double(value, allow_breaks),
            Style::Literal => self.write_literal(value),
        }
        self.pop_indent();
    }

    fn write_plain(&mut self, value: &str, allow_breaks: bool) {
        if !self.whitespace {
            self.put(' ');
        }
        let chars: Vec<char> = value.chars().collect();
        let mut spaces = false;
        for (i, &c) in chars.iter().enumerate() {
            if c == ' ' {
                if allow_breaks
                    && !spaces
                    && self.column > BEST_WIDTH
                    && chars.get(i + 1) != Some(&' ')
                {
                    self.write_indent();
                } else {
                    self.put(c);
                }
                spaces = true;
            } else {
                self.put(c);
                self.indention = false;
                spaces = false;
            }
        }
        self.whitespace = false;
        self.indention = false;
    }

    fn write_single(&mut self, value: &str, allow_breaks: bool) {
        self.write_indicator("'", true, false, false);
        let chars: Vec<char> = value.chars().collect();
        let mut spaces = false;
        let mut breaks = false;
        for (i, &c) in chars.iter().enumerate() {
            if c == ' ' {
                if allow_breaks
                    && !spaces
                    && self.column > BEST_WIDTH
                    && i > 0
                    && i + 1 < chars.len()
                    && chars[i + 1] != ' '
                {
                    self.write_indent();
                } else {
                    self.put(c);
                }
                spaces = true;
            } else if is_break(c) {
                if !breaks && c == '\n' {
                    self.put_break();
                }
                self.put_break();
                self.indention = true;
                breaks = true;
            } else {
                if breaks {
                    self.write_indent();
                }
                if c == '\'' {
                    self.put('\'');
                }
                self.put(c);
                self.indention = false;
                spaces = false;
                breaks = false;
            }
        }
        self.write_indicator("'", false, false, false);
        self.whitespace = false;
        self.indention = false;
    }

    fn write_double(&mut self, value: &str, allow_breaks: bool) {
        self.write_indicator("\"", true, false, false);
        let chars: Vec<char> = value.chars().collect();
        let mut spaces = false;
        for (i, &c) in chars.iter().enumerate() {
            if !is_printable(c) || c == '\u{FEFF}' || is_break(c) || c == '"' || c == '\\' {
                self.put('\\');
                match c {
                    '\0' => self.put('0'),
                    '\x07' => self.put('a'),
                    '\x08' => self.put('b'),
                    '\t' => self.put('t'),
                    '\n' => self.put('n'),
                    '\x0b' => self.put('v'),
                    '\x0c' => self.put('f'),
                    '\r' => self.put('r'),
                    '\x1b' => self.put('e'),
                    '"' => self.put('"'),
                    '\\' => self.put('\\'),
                    '\u{85}' => self.put('N'),
                    '\u{A0}' => self.put('_'),
                    '\u{2028}' => self.put('L'),
                    '\u{2029}' => self.put('P'),
                    c => {
                        let u = c as u32;
                        let (letter, width) = if u <= 0xFF {
                            ('x', 2)
                        } else if u <= 0xFFFF {
                            ('u', 4)
                        } else {
                            ('U', 8)
                        };
                        self.put(letter);
                        self.write_str(&format!("{u:0width$X}"));
                    }
                }
                spaces = false;
            } else if c == ' ' {
                if allow_breaks
                    && !spaces
                    && self.column > BEST_WIDTH
                    && i > 0
                    && i + 1 < chars.len()
                {
                    self.write_indent();
                    if chars[i + 1] == ' ' {
                        self.put('\\');
                    }
                } else {
                    self.put(c);
                }
                spaces = true;
            } else {
                self.put(c);
                spaces = false;
            }
        }
        self.write_indicator("\"", false, false, false);
        self.whitespace = false;
        self.indention = false;
    }

    fn write_literal(&mut self, value: &str) {
        self.write_indicator("|", true, false, false);
        // Block scalar hints: an indentation indicator for leading space, then chomping.
        if value.starts_with([' ', '\n', '\r']) {
            self.write_indicator(&BEST_INDENT.to_string(), false, false, false);
        }
        let chars: Vec<char> = value.chars().collect();
        let chomp = match chars.last() {
            None => Some("-"),
            Some(&l) if !is_break(l) => Some("-"),
            Some(_) if chars.len() == 1 => Some("+"),
            Some(_) if is_break(chars[chars.len() - 2]) => Some("+"),
            Some(_) => None,
        };
        if let Some(c) = chomp {
            self.write_indicator(c, false, false, false);
        }
        self.put_break();
        self.indention = true;
        self.whitespace = true;
        let mut breaks = true;
        for &c in &chars {
            if is_break(c) {
                self.put_break();
                self.indention = true;
                breaks = true;
            } else {
                if breaks {
                    self.write_indent();
                    breaks = false;
                }
                self.put(c);
                self.indention = false;
            }
        }
    }
}

/// go-yaml v2's key order: numbers inside strings compare as numbers, non-letters before
/// letters.
pub fn natural_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    let (ar, br): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut i = 0;
    while i < ar.len() && i < br.len() {
        if ar[i] == br[i] {
            i += 1;
            continue;
        }
        let (al, bl) = (ar[i].is_alphabetic(), br[i].is_alphabetic());
        if al && bl {
            return ar[i].cmp(&br[i]);
        }
        if al || bl {
            return if bl {
                Ordering::Less
            } else {
                Ordering::Greater
            };
        }
        let (mut an, mut bn) = (0i64, 0i64);
        if ar[i] == '0' || br[i] == '0' {
            let mut j = i;
            while j > 0 && ar[j - 1].is_ascii_digit() {
                j -= 1;
                if ar[j] != '0' {
                    an = 1;
                    bn = 1;
                    break;
                }
            }
        }
        let mut ai = i;
        while ai < ar.len() && ar[ai].is_ascii_digit() {
            an = an.wrapping_mul(10).wrapping_add(ar[ai] as i64 - '0' as i64);
            ai += 1;
        }
        let mut bi = i;
        while bi < br.len() && br[bi].is_ascii_digit() {
            bn = bn.wrapping_mul(10).wrapping_add(br[bi] as i64 - '0' as i64);
            bi += 1;
        }
        if an != bn {
            return an.cmp(&bn);
        }
        if ai != bi {
            return ai.cmp(&bi);
        }
        return ar[i].cmp(&br[i]);
    }
    ar.len().cmp(&br.len())
}

/// Whether go-yaml v2 reads `s`, written plain, back as the same string (else it quotes it).
fn resolves_as_string(s: &str) -> bool {
    !matches!(resolve_plain(s), Resolved::Other)
        && matches!(resolve_plain(s), Resolved::Str)
        && !is_base60_float(s)
}

fn is_base60_float(s: &str) -> bool {
    // ^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$
    let b = s.strip_prefix(['-', '+']).unwrap_or(s);
    let (main, frac) = match b.split_once('.') {
        Some((m, f)) => (m, Some(f)),
        None => (b, None),
    };
    if let Some(f) = frac
        && !f.bytes().all(|c| c.is_ascii_digit() || c == b'_')
    {
        return false;
    }
    let mut parts = main.split(':');
    let first = parts.next().unwrap_or("");
    if first.is_empty()
        || !first.as_bytes()[0].is_ascii_digit()
        || !first.bytes().all(|c| c.is_ascii_digit() || c == b'_')
    {
        return false;
    }
    let mut n = 0;
    for p in parts {
        n += 1;
        let ok = match p.len() {
            1 => p.as_bytes()[0].is_ascii_digit(),
            2 => (b'0'..=b'5').contains(&p.as_bytes()[0]) && p.as_bytes()[1].is_ascii_digit(),
            _ => false,
        };
        if !ok {
            return false;
        }
    }
    n > 0
}

// ---------------------------------------------------------------------------------------
// Reading.

enum Resolved {
    Str,
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Other,
}

/// go-yaml v2's resolution of a plain scalar (YAML 1.1 with its int, float and timestamp rules).
fn resolve_plain(s: &str) -> Resolved {
    match s {
        "" | "~" | "null" | "Null" | "NULL" => return Resolved::Null,
        "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => {
            return Resolved::Bool(true);
        }
        "n" | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
            return Resolved::Bool(false);
        }
        ".nan" | ".NaN" | ".NAN" => return Resolved::Float(f64::NAN),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Resolved::Float(f64::INFINITY);
        }
        "-.inf" | "-.Inf" | "-.INF" => return Resolved::Float(f64::NEG_INFINITY),
        "<<" => return Resolved::Other,
        _ => {}
    }
    let first = s.as_bytes()[0];
    if first.is_ascii_digit() || first == b'-' || first == b'+' || first == b'.' {
        if is_timestamp(s) {
            return Resolved::Other;
        }
        let plain = s.replace('_', "");
        if let Some(i) = crate::funcs::parse_go_int(&plain) {
            return Resolved::Int(i);
        }
        if let Some(u) = parse_go_uint(&plain) {
            return Resolved::Float(u as f64);
        }
        if is_yaml_float(&plain)
            && let Ok(f) = plain.parse::<f64>()
        {
            return Resolved::Float(f);
        }
        if let Some(b) = plain.strip_prefix("0b")
            && let Ok(i) = i64::from_str_radix(b, 2)
        {
            return Resolved::Int(i);
        }
        if let Some(b) = plain.strip_prefix("-0b")
            && let Ok(i) = i64::from_str_radix(b, 2)
        {
            return Resolved::Int(-i);
        }
    }
    Resolved::Str
}

fn parse_go_uint(s: &str) -> Option<u64> {
    if s.starts_with(['-', '+']) {
        return None;
    }
    let lower = s.to_ascii_lowercase();
    if let Some(h) = lower.strip_prefix("0x") {
        return u64::from_str_radix(h, 16).ok();
    }
    if lower.len() > 1 && lower.starts_with('0') {
        return u64::from_str_radix(&lower[1..], 8).ok();
    }
    lower.parse().ok()
}

/// ^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$
fn is_yaml_float(s: &str) -> bool {
    let b = s.strip_prefix(['-', '+']).unwrap_or(s);
    let (mant, exp) = match b.find(['e', 'E']) {
        Some(i) => (&b[..i], Some(&b[i + 1..])),
        None => (b, None),
    };
    if let Some(e) = exp {
        let e = e.strip_prefix(['-', '+']).unwrap_or(e);
        if e.is_empty() || !e.bytes().all(|c| c.is_ascii_digit()) {
            return false;
        }
    }
    match mant.split_once('.') {
        Some((i, f)) => {
            if i.is_empty() {
                !f.is_empty() && f.bytes().all(|c| c.is_ascii_digit())
            } else {
                i.bytes().all(|c| c.is_ascii_digit()) && f.bytes().all(|c| c.is_ascii_digit())
            }
        }
        None => !mant.is_empty() && mant.bytes().all(|c| c.is_ascii_digit()),
    }
}

fn is_timestamp(s: &str) -> bool {
    // go-yaml v2 tries "2006-1-2T15:4:5.999999999Z07:00", "2006-1-2t15:4:5.999999999Z07:00",
    // "2006-1-2 15:4:5.999999999", "2006-1-2"; all start with a four-digit year and '-'.
    let b = s.as_bytes();
    if b.len() < 8 || !b[..4].iter().all(u8::is_ascii_digit) || b[4] != b'-' {
        return false;
    }
    let rest = &s[5..];
    let (date, time) = match rest.find(['T', 't', ' ']) {
        Some(i) => (&rest[..i], Some(&rest[i + 1..])),
        None => (rest, None),
    };
    let mut dp = date.split('-');
    let ok_num = |p: Option<&str>, max: usize| {
        p.is_some_and(|p| !p.is_empty() && p.len() <= max && p.bytes().all(|c| c.is_ascii_digit()))
    };
    if !ok_num(dp.next(), 2) || !ok_num(dp.next(), 2) || dp.next().is_some() {
        return false;
    }
    let Some(t) = time else { return true };
    let t = t.trim_end_matches('Z');
    let t = match t.rfind(['+', '-']) {
        Some(i) if i > 0 => &t[..i],
        _ => t,
    };
    let t = t.split('.').next().unwrap_or("");
    let mut tp = t.split(':');
    ok_num(tp.next(), 2) && ok_num(tp.next(), 2) && ok_num(tp.next(), 2) && tp.next().is_none()
}

/// `sigs.k8s.io/yaml.Unmarshal` into `interface{}` of one document; numbers as float64.
pub fn from_yaml(text: &str) -> Result<Value, String> {
    let docs = from_yaml_stream(text, true)?;
    Ok(docs.into_iter().next().unwrap_or(Value::Nil))
}

/// Every document of a stream (only the first when `first_only`).
pub fn from_yaml_stream(text: &str, first_only: bool) -> Result<Vec<Value>, String> {
    let opts = granit_parser::options! {
        block_nesting_limit: 512,
        flow_nesting_limit: 512,
        block_scalar_eof_without_line_feed: true,
    };
    let mut parser = Parser::new_from_str_with_options(text, opts);
    let mut b = Builder {
        stack: Vec::new(),
        anchors: HashMap::new(),
        docs: Vec::new(),
        budget: 1_000_000,
    };
    loop {
        match parser.next_event() {
            None => break,
            Some(Err(e)) => {
                let m = e.marker();
                return Err(format!(
                    "error converting YAML to JSON: yaml: line {}: {}",
                    m.line(),
                    libyaml_words(&e.info())
                ));
            }
            Some(Ok((ev, _))) => {
                let done = b.event(ev)?;
                if done && first_only {
                    break;
                }
            }
        }
    }
    Ok(b.docs)
}

/// libyaml's words for the errors go-yaml reports, where granit's differ.
fn libyaml_words(info: &str) -> &str {
    if info.starts_with("unclosed bracket") {
        "did not find expected ',' or ']'"
    } else if info.starts_with("unclosed brace") {
        "did not find expected ',' or '}'"
    } else {
        info
    }
}

enum Frame {
    Map(Map, Option<String>, Option<usize>, Vec<Map>),
    Seq(Vec<Value>, Option<usize>),
}

struct Builder {
    stack: Vec<Frame>,
    anchors: HashMap<usize, Value>,
    docs: Vec<Value>,
    budget: usize,
}

fn key_string(v: &Value) -> String {
    match v {
        Value::String(s) => s.to_string(),
        Value::Nil => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => crate::gofmt::format_float(*f, 'g', None),
        other => crate::gofmt::sprint_value(other),
    }
}

/// The nodes of a value, counted up to `cap` (an alias bomb's logical size is exponential).
fn count_nodes(v: &Value, cap: usize) -> usize {
    let mut n = 1;
    match v {
        Value::List(l) => {
            for x in l.iter() {
                n += count_nodes(x, cap.saturating_sub(n));
                if n > cap {
                    break;
                }
            }
        }
        Value::Map(m) => {
            for x in m.borrow().values() {
                n += count_nodes(x, cap.saturating_sub(n));
                if n > cap {
                    break;
                }
            }
        }
        _ => {}
    }
    n
}

impl Builder {
    /// Returns true when a document ended.
    fn event(&mut self, ev: Event) -> Result<bool, String> {
        match ev {
            Event::DocumentEnd => {
                if self.docs.is_empty() || !self.stack.is_empty() {
                    // A document with no node is null.
                }
                return Ok(true);
            }
            Event::Scalar(s, style, anchor, tag) => {
                let v = if style == ScalarStyle::Plain && tag.is_none() {
                    match resolve_plain(&s) {
                        Resolved::Null => Value::Nil,
                        Resolved::Bool(b) => Value::Bool(b),
                        Resolved::Int(i) => Value::Float(i as f64),
                        Resolved::Float(f) => Value::Float(f),
                        Resolved::Str | Resolved::Other => Value::from(s.as_ref()),
                    }
                } else if let Some(t) = tag.as_deref().map(|t| t.suffix()) {
                    match t {
                        "int" | "float" => s
                            .replace('_', "")
                            .parse::<f64>()
                            .map(Value::Float)
                            .unwrap_or_else(|_| Value::from(s.as_ref())),
                        "bool" => match resolve_plain(&s) {
                            Resolved::Bool(b) => Value::Bool(b),
                            _ => Value::from(s.as_ref()),
                        },
                        "null" => Value::Nil,
                        _ => Value::from(s.as_ref()),
                    }
                } else {
                    Value::from(s.as_ref())
                };
                if anchor > 0 {
                    self.anchors.insert(anchor, v.clone());
                }
                self.add(v, style == ScalarStyle::Plain && s == "<<")?;
            }
            Event::Alias(id) => {
                let v = self
                    .anchors
                    .get(&id)
                    .cloned()
                    .ok_or("yaml: unknown anchor referenced")?;
                let n = count_nodes(&v, self.budget + 1);
                self.budget = self
                    .budget
                    .checked_sub(n)
                    .ok_or("yaml: document contains excessive aliasing")?;
                self.add(v, false)?;
            }
            Event::MappingStart(_, anchor, _) => self.stack.push(Frame::Map(
                Map::new(),
                None,
                (anchor > 0).then_some(anchor),
                Vec::new(),
            )),
            Event::SequenceStart(_, anchor, _) => self
                .stack
                .push(Frame::Seq(Vec::new(), (anchor > 0).then_some(anchor))),
            Event::MappingEnd => {
                let Some(Frame::Map(mut m, _, anchor, merges)) = self.stack.pop() else {
                    return Err("yaml: unbalanced mapping".into());
                };
                for merged in merges.into_iter().rev() {
                    for (k, v) in merged {
                        m.entry(k).or_insert(v);
                    }
                }
                let v = Value::map(m);
                if let Some(a) = anchor {
                    self.anchors.insert(a, v.clone());
                }
                self.add(v, false)?;
            }
            Event::SequenceEnd => {
                let Some(Frame::Seq(l, anchor)) = self.stack.pop() else {
                    return Err("yaml: unbalanced sequence".into());
                };
                let v = Value::list(l);
                if let Some(a) = anchor {
                    self.anchors.insert(a, v.clone());
                }
                self.add(v, false)?;
            }
            _ => {}
        }
        Ok(false)
    }

    fn add(&mut self, v: Value, is_merge_key: bool) -> Result<(), String> {
        match self.stack.last_mut() {
            None => self.docs.push(v),
            Some(Frame::Seq(l, _)) => l.push(v),
            Some(Frame::Map(m, key, _, merges)) => match key.take() {
                None => {
                    *key = Some(if is_merge_key {
                        "\u{0}<<".into()
                    } else {
                        key_string(&v)
                    });
                }
                Some(k) if k == "\u{0}<<" => match &v {
                    Value::Map(x) => merges.push(x.borrow().clone()),
                    Value::List(items) => {
                        for it in items.iter().rev() {
                            if let Value::Map(x) = it {
                                merges.insert(0, x.borrow().clone());
                            }
                        }
                    }
                    _ => {
                        return Err(
                            "yaml: map merge requires map or sequence of maps as the value".into(),
                        );
                    }
                },
                Some(k) => {
                    m.insert(k, v);
                }
            },
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn y(v: Value) -> String {
        to_yaml(&v).unwrap()
    }

    #[test]
    fn writes_as_sigs_yaml_does() {
        let v = from_yaml("b: 1\na: [x, {c: true}]\nnn: null\ne: {}\nl: []\ns: \"yes\"\nm: \"a\\nb\\n\"\nq: \"1.5\"\nf: 2.5\nbig: 12345678901\n").unwrap();
        assert_eq!(
            y(v),
            "a:\n- x\n- c: true\nb: 1\nbig: 12345678901\ne: {}\nf: 2.5\nl: []\nm: |\n  a\n  b\nnn: null\nq: \"1.5\"\ns: \"yes\"\n"
        );
        assert_eq!(y(Value::from("a: b")), "'a: b'\n");
        assert_eq!(y(Value::from("x\ty")), "\"x\\ty\"\n");
        assert_eq!(
            y(Value::from("no newline\nat end")),
            "|-\n  no newline\n  at end\n"
        );
        let long = "word ".repeat(30);
        let folded = y(Value::map(
            [("k".to_string(), Value::from(long.trim_end()))].into(),
        ));
        assert!(folded.starts_with("k: word word"), "{folded}");
        assert_eq!(folded.lines().count(), 2, "{folded}");
        assert_eq!(natural_cmp("a10", "a9"), std::cmp::Ordering::Greater);
        assert_eq!(natural_cmp("1a", "a"), std::cmp::Ordering::Less);
    }

    #[test]
    fn reads_yaml_1_1_scalars_as_go_does() {
        let v =
            from_yaml("a: yes\nb: 0x1F\nc: 0777\nd: 2.50\ne: ~\nf: 2001-12-14\n1: one\n").unwrap();
        assert_eq!(
            crate::json::to_json(&v, false).unwrap(),
            r#"{"1":"one","a":true,"b":31,"c":511,"d":2.5,"e":null,"f":"2001-12-14"}"#
        );
    }
}
