//! Flux's post-build substitution engine (`fluxcd/pkg/envsubst`, a fork of drone/envsubst),
//! ported rule for rule: `${var}`, `${var:=default}` (and `:-`, `=`, `:?`, `:+`), `$${var}` and
//! `$$` escapes, substrings, replacements, prefix/suffix removal with globs, case changes and
//! lengths. `$var` is left alone; an undefined variable becomes empty unless strict.
//!
//! The scanner mirrors the Go one, quirks included, because users depend on them (`$$` is
//! halved anywhere; `${var-default}` is a parse error; lengths count bytes).

use std::collections::{BTreeMap, BTreeSet};

const EOF: char = '\u{0}';

const SCAN_IDENT: u8 = 1;
const SCAN_LBRACK: u8 = 2;
const SCAN_RBRACK: u8 = 4;
const SCAN_ESCAPE: u8 = 8;

const DOLLAR: u8 = 1;
const BACKSLASH: u8 = 2;
const ESCAPE_ALL: u8 = DOLLAR | BACKSLASH;

/// Why a text could not be substituted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Error {
    BadSubstitution,
    MissingClosingBrace,
    ParseVariableName,
    ParseFuncSubstitution,
    ParseDefaultFunction,
    /// Strict mode: a variable without a default is not defined.
    NotSet(String),
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::BadSubstitution => f.write_str("bad substitution"),
            Error::MissingClosingBrace => f.write_str("missing closing brace"),
            Error::ParseVariableName => f.write_str("unable to parse variable name"),
            Error::ParseFuncSubstitution => {
                f.write_str("unable to parse substitution within function")
            }
            Error::ParseDefaultFunction => f.write_str("unable to parse default function"),
            Error::NotSet(name) => write!(f, "variable not set (strict mode): \"{name}\""),
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Token {
    Eof,
    Ident,
    Lbrack,
    Rbrack,
    Illegal,
}

type Accept = fn(char, usize) -> bool;

fn accept_rune(_: char, _: usize) -> bool {
    true
}
fn accept_ident(r: char, _: usize) -> bool {
    r.is_alphabetic() || r.is_numeric() || r == '_'
}
fn accept_not_closing(r: char, _: usize) -> bool {
    r != '}'
}
fn accept_default_func(r: char, i: usize) -> bool {
    (i == 1 && r == ':') || (i == 2 && matches!(r, '=' | '-' | '?' | '+'))
}
fn accept_replace_func(r: char, i: usize) -> bool {
    (i == 1 && r == '/') || (i == 2 && matches!(r, '/' | '#' | '%'))
}
fn accept_one_equal(r: char, i: usize) -> bool {
    i == 1 && r == '='
}
fn accept_one_colon(r: char, i: usize) -> bool {
    i == 1 && r == ':'
}
fn accept_colon(r: char, _: usize) -> bool {
    r == ':'
}
fn reject_colon_close(r: char, _: usize) -> bool {
    r != ':' && r != '}'
}
fn accept_slash(r: char, _: usize) -> bool {
    r == '/'
}
fn accept_not_slash(r: char, _: usize) -> bool {
    r != '/'
}
fn accept_casing_func(r: char, i: usize) -> bool {
    (r == ',' || r == '^') && i < 3
}
fn accept_hash_func(r: char, i: usize) -> bool {
    r == '#' && i < 3
}
fn accept_percent_func(r: char, i: usize) -> bool {
    r == '%' && i < 3
}
fn accept_one_hash(r: char, i: usize) -> bool {
    r == '#' && i == 1
}

struct Scanner {
    buf: Vec<char>,
    pos: usize,
    start: usize,
    width: usize,
    mode: u8,
    escape_chars: u8,
    accept: Accept,
}

impl Scanner {
    fn read(&mut self) -> char {
        if self.pos >= self.buf.len() {
            self.width = 0;
            return EOF;
        }
        let r = self.buf[self.pos];
        self.width = 1;
        self.pos += 1;
        r
    }
    fn unread(&mut self) {
        self.pos -= self.width;
    }
    fn peek(&mut self) -> char {
        let r = self.read();
        self.unread();
        r
    }
    /// Removes the character just read; the position stays, so the next one counts as read.
    fn skip(&mut self) {
        self.buf.remove(self.pos - 1);
    }
    fn string(&self) -> String {
        self.buf[self.start..self.pos].iter().collect()
    }
    fn accepts(&self, r: char) -> bool {
        (self.accept)(r, self.pos - self.start)
    }

    fn scan(&mut self) -> Token {
        self.start = self.pos;
        let r = self.read();
        if r == EOF && self.width == 0 {
            return Token::Eof;
        }
        if self.scan_lbrack(r) {
            return Token::Lbrack;
        }
        if self.scan_rbrack(r) {
            return Token::Rbrack;
        }
        if self.scan_ident(r) {
            return Token::Ident;
        }
        Token::Illegal
    }

    fn scan_ident(&mut self, r: char) -> bool {
        if self.mode & SCAN_IDENT == 0 {
            return false;
        }
        if self.scan_escaped(r) {
            self.skip();
        } else if !self.accepts(r) {
            return false;
        }
        loop {
            let r = self.read();
            if r == EOF && self.width == 0 {
                self.unread();
                break;
            }
            if self.scan_lbrack(r) {
                self.unread();
                self.unread();
                break;
            }
            if self.scan_escaped(r) {
                self.skip();
                continue;
            }
            if !self.accepts(r) {
                self.unread();
                break;
            }
        }
        true
    }

    fn scan_lbrack(&mut self, r: char) -> bool {
        if self.mode & SCAN_LBRACK == 0 {
            return false;
        }
        if r == '$' {
            if self.read() == '{' && self.width == 1 {
                return true;
            }
            self.unread();
        }
        false
    }

    fn scan_rbrack(&self, r: char) -> bool {
        self.mode & SCAN_RBRACK != 0 && r == '}'
    }

    fn scan_escaped(&mut self, r: char) -> bool {
        if self.mode & SCAN_ESCAPE == 0 {
            return false;
        }
        if r == '$' && self.escape_chars & DOLLAR != 0 && self.peek() == '$' {
            return true;
        }
        if r == '\\' && self.escape_chars & BACKSLASH != 0 {
            return matches!(self.peek(), '/' | '\\');
        }
        false
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Node {
    Text(String),
    Func {
        name: String,
        param: String,
        args: Vec<Node>,
    },
}

struct Parser {
    s: Scanner,
}

impl Parser {
    fn parse_any(&mut self) -> Result<Vec<Node>, Error> {
        let mut out = Vec::new();
        loop {
            self.s.accept = accept_rune;
            self.s.mode = SCAN_IDENT | SCAN_LBRACK | SCAN_ESCAPE;
            self.s.escape_chars = DOLLAR;
            match self.s.scan() {
                Token::Ident => out.push(Node::Text(self.s.string())),
                Token::Eof => return Ok(out),
                Token::Lbrack => out.push(self.parse_func()?),
                _ => return Err(Error::BadSubstitution),
            }
        }
    }

    fn parse_func(&mut self) -> Result<Node, Error> {
        self.s.escape_chars = ESCAPE_ALL;
        if self.s.peek() == '#' {
            return self.parse_len_func();
        }
        self.s.accept = accept_ident;
        self.s.mode = SCAN_IDENT;
        let name = match self.s.scan() {
            Token::Ident => self.s.string(),
            _ => return Err(Error::ParseVariableName),
        };
        match self.s.peek() {
            ':' => return self.parse_default_or_substr(name),
            '=' => return self.parse_default_func(name),
            ',' | '^' => return self.parse_op_only(name, accept_casing_func),
            '/' => return self.parse_replace_func(name),
            '#' => return self.parse_remove_func(name, accept_hash_func),
            '%' => return self.parse_remove_func(name, accept_percent_func),
            _ => {}
        }
        self.s.accept = accept_ident;
        self.s.mode = SCAN_RBRACK;
        match self.s.scan() {
            Token::Rbrack => Ok(Node::Func {
                name: String::new(),
                param: name,
                args: Vec::new(),
            }),
            _ => Err(Error::MissingClosingBrace),
        }
    }

    fn parse_param(&mut self, accept: Accept, mode: u8) -> Result<Node, Error> {
        self.s.accept = accept;
        self.s.mode = mode | SCAN_LBRACK;
        match self.s.scan() {
            Token::Lbrack => self.parse_func(),
            Token::Ident | Token::Rbrack => Ok(Node::Text(self.s.string())),
            _ => Err(Error::ParseFuncSubstitution),
        }
    }

    fn parse_default_or_substr(&mut self, name: String) -> Result<Node, Error> {
        self.s.read();
        let r = self.s.peek();
        self.s.unread();
        if matches!(r, '=' | '-' | '?' | '+') {
            self.parse_default_func(name)
        } else {
            self.parse_substr_func(name)
        }
    }

    fn op(&mut self, accept: Accept) -> Result<String, Error> {
        self.s.accept = accept;
        self.s.mode = SCAN_IDENT;
        match self.s.scan() {
            Token::Ident => Ok(self.s.string()),
            _ => Err(Error::BadSubstitution),
        }
    }

    fn parse_substr_func(&mut self, param: String) -> Result<Node, Error> {
        let name = self.op(accept_one_colon)?;
        let mut args = vec![self.parse_param(reject_colon_close, SCAN_IDENT)?];
        self.s.accept = accept_colon;
        self.s.mode = SCAN_IDENT | SCAN_RBRACK;
        match self.s.scan() {
            Token::Rbrack => return Ok(Node::Func { name, param, args }),
            Token::Ident => {}
            _ => return Err(Error::BadSubstitution),
        }
        args.push(self.parse_param(accept_not_closing, SCAN_IDENT)?);
        self.consume_rbrack()?;
        Ok(Node::Func { name, param, args })
    }

    fn parse_remove_func(&mut self, param: String, accept: Accept) -> Result<Node, Error> {
        let name = self.op(accept)?;
        let args = vec![self.parse_param(accept_not_closing, SCAN_IDENT)?];
        self.consume_rbrack()?;
        Ok(Node::Func { name, param, args })
    }

    fn parse_replace_func(&mut self, param: String) -> Result<Node, Error> {
        let name = self.op(accept_replace_func)?;
        let mut args = Vec::new();
        if self.s.peek() == '/' {
            args.push(Node::Text(String::new()));
        } else {
            args.push(self.parse_param(accept_not_slash, SCAN_IDENT | SCAN_ESCAPE)?);
        }
        self.s.accept = accept_slash;
        self.s.mode = SCAN_IDENT;
        if self.s.scan() != Token::Ident {
            return Err(Error::BadSubstitution);
        }
        if self.s.peek() == '}' {
            self.consume_rbrack()?;
            return Ok(Node::Func { name, param, args });
        }
        args.push(self.parse_param(accept_not_closing, SCAN_IDENT | SCAN_ESCAPE)?);
        self.consume_rbrack()?;
        Ok(Node::Func { name, param, args })
    }

    fn parse_default_func(&mut self, param: String) -> Result<Node, Error> {
        self.s.accept = if self.s.peek() == '=' {
            accept_one_equal
        } else {
            accept_default_func
        };
        self.s.mode = SCAN_IDENT;
        let name = match self.s.scan() {
            Token::Ident => self.s.string(),
            _ => return Err(Error::ParseDefaultFunction),
        };
        let mut args = Vec::new();
        loop {
            if self.s.peek() == '}' {
                self.consume_rbrack()?;
                return Ok(Node::Func { name, param, args });
            }
            args.push(self.parse_param(accept_not_closing, SCAN_IDENT)?);
        }
    }

    fn parse_op_only(&mut self, param: String, accept: Accept) -> Result<Node, Error> {
        let name = self.op(accept)?;
        self.consume_rbrack()?;
        Ok(Node::Func {
            name,
            param,
            args: Vec::new(),
        })
    }

    fn parse_len_func(&mut self) -> Result<Node, Error> {
        let name = self.op(accept_one_hash)?;
        self.s.accept = accept_ident;
        self.s.mode = SCAN_IDENT;
        let param = match self.s.scan() {
            Token::Ident => self.s.string(),
            _ => return Err(Error::BadSubstitution),
        };
        self.consume_rbrack()?;
        Ok(Node::Func {
            name,
            param,
            args: Vec::new(),
        })
    }

    fn consume_rbrack(&mut self) -> Result<(), Error> {
        self.s.mode = SCAN_RBRACK;
        if self.s.scan() != Token::Rbrack {
            return Err(Error::BadSubstitution);
        }
        Ok(())
    }
}

fn parse(text: &str) -> Result<Vec<Node>, Error> {
    let mut p = Parser {
        s: Scanner {
            buf: text.chars().collect(),
            pos: 0,
            start: 0,
            width: 0,
            mode: 0,
            escape_chars: 0,
            accept: accept_rune,
        },
    };
    p.parse_any()
}

/// Variables, and whether undefined ones are errors.
pub struct Vars<'a> {
    pub values: &'a BTreeMap<String, String>,
    /// Variables that exist but whose values cannot be known (offline): every reference to one
    /// is left as `${NAME}`.
    pub unknown: &'a BTreeSet<String>,
    /// A source of variables could not be read: every variable without a value may come from
    /// it, so it is unknown rather than undefined.
    pub undefined_unknown: bool,
    pub strict: bool,
}

fn is_default_op(name: &str) -> bool {
    matches!(name, "-" | "+" | "=" | "?" | ":-" | ":+" | ":=" | ":?")
}

fn eval(
    nodes: &[Node],
    vars: &Vars,
    out: &mut String,
    seen: &mut Substituted,
) -> Result<(), Error> {
    for n in nodes {
        match n {
            Node::Text(t) => out.push_str(t),
            Node::Func { name, param, args } => {
                let mut evaluated = Vec::with_capacity(args.len());
                for a in args {
                    let mut s = String::new();
                    eval(std::slice::from_ref(a), vars, &mut s, seen)?;
                    evaluated.push(s);
                }
                let value = vars.values.get(param);
                seen.referenced.push(param.clone());
                if value.is_none() && (vars.unknown.contains(param) || vars.undefined_unknown) {
                    seen.unknown.push(param.clone());
                    out.push_str("${");
                    out.push_str(param);
                    out.push('}');
                    continue;
                }
                if value.is_none() && !is_default_op(name) {
                    if vars.strict {
                        return Err(Error::NotSet(param.clone()));
                    }
                    seen.undefined.push(param.clone());
                }
                let v = value.map(String::as_str).unwrap_or("");
                out.push_str(&apply_func(name, v, &evaluated));
            }
        }
    }
    Ok(())
}

/// What a substitution did.
#[derive(Default)]
pub struct Substituted {
    pub text: String,
    /// Every variable referenced, defined or not, in order.
    pub referenced: Vec<String>,
    /// Referenced without a value or a default (each became an empty string).
    pub undefined: Vec<String>,
    /// Referenced, with a value that cannot be known (each left as `${NAME}`).
    pub unknown: Vec<String>,
}

/// Substitutes the variables in `text`.
pub fn substitute(text: &str, vars: &Vars) -> Result<Substituted, Error> {
    let nodes = parse(text)?;
    let mut out = String::with_capacity(text.len());
    let mut seen = Substituted::default();
    eval(&nodes, vars, &mut out, &mut seen)?;
    seen.text = out;
    Ok(seen)
}

fn apply_func(name: &str, s: &str, args: &[String]) -> String {
    match name {
        "," => first_char(s, false),
        ",," => s.to_lowercase(),
        "^" => first_char(s, true),
        "^^" => s.to_uppercase(),
        "#" if args.is_empty() => s.len().to_string(),
        "#" => trim_shortest(s, &args[0]),
        "##" => trim_longest(s, &args[0]),
        "%" => reverse(&trim_shortest(&reverse(s), &reverse(&args[0]))),
        "%%" => reverse(&trim_longest(&reverse(s), &reverse(&args[0]))),
        ":" => substr(s, args),
        "/#" => {
            if args.len() == 2 && s.starts_with(args[0].as_str()) {
                s.replacen(args[0].as_str(), &args[1], 1)
            } else {
                s.to_string()
            }
        }
        "/%" => {
            if args.len() == 2 && s.ends_with(args[0].as_str()) {
                format!("{}{}", &s[..s.len() - args[0].len()], args[1])
            } else {
                s.to_string()
            }
        }
        "/" => replace(s, args, 1),
        "//" => replace(s, args, usize::MAX),
        _ => {
            if s.is_empty() && !args.is_empty() {
                args.concat()
            } else {
                s.to_string()
            }
        }
    }
}

/// Go's strings.Replace, including its handling of an empty pattern.
fn replace(s: &str, args: &[String], n: usize) -> String {
    let (old, new) = match args.len() {
        0 => return s.to_string(),
        1 => (args[0].as_str(), ""),
        _ => (args[0].as_str(), args[1].as_str()),
    };
    if old.is_empty() {
        // Go inserts `new` before each rune (and at the end), up to n times.
        let mut out = String::new();
        let mut count = 0;
        for c in s.chars() {
            if count < n {
                out.push_str(new);
                count += 1;
            }
            out.push(c);
        }
        if count < n {
            out.push_str(new);
        }
        return out;
    }
    s.replacen(old, new, n)
}

fn first_char(s: &str, upper: bool) -> String {
    let mut cs = s.chars();
    match cs.next() {
        None => String::new(),
        Some(c) => {
            let head: String = if upper {
                c.to_uppercase().collect()
            } else {
                c.to_lowercase().collect()
            };
            head + cs.as_str()
        }
    }
}

fn substr(s: &str, args: &[String]) -> String {
    let b = s.as_bytes();
    let Some(first) = args.first() else {
        return s.to_string();
    };
    let Ok(mut pos) = first.parse::<i64>() else {
        return s.to_string();
    };
    let len = b.len() as i64;
    if pos < 0 {
        pos = (len + pos).max(0);
    }
    let bytes = |a: i64, e: i64| String::from_utf8_lossy(&b[a as usize..e as usize]).into_owned();
    if args.len() == 1 {
        return if pos < len {
            bytes(pos, len)
        } else {
            String::new()
        };
    }
    let Ok(length) = args[1].parse::<i64>() else {
        return s.to_string();
    };
    if length < 0 {
        let end = len + length;
        if end < pos {
            return String::new();
        }
        return bytes(pos, end);
    }
    if pos + length >= len {
        return if pos < len {
            bytes(pos, len)
        } else {
            String::new()
        };
    }
    bytes(pos, pos + length)
}

fn reverse(s: &str) -> String {
    s.chars().rev().collect()
}

fn trim_shortest(s: &str, pattern: &str) -> String {
    let mut shortest: Option<usize> = None;
    let b = s.as_bytes();
    for i in 0..b.len() {
        let end = b.len() - i;
        let Ok(prefix) = std::str::from_utf8(&b[..end]) else {
            continue;
        };
        match glob_match(pattern, prefix) {
            Err(()) => return s.to_string(),
            Ok(true) => shortest = Some(end),
            Ok(false) => {}
        }
    }
    match shortest {
        Some(end) if end > 0 => s[end..].to_string(),
        _ => s.to_string(),
    }
}

fn trim_longest(s: &str, pattern: &str) -> String {
    let b = s.as_bytes();
    for i in 0..b.len() {
        let end = b.len() - i;
        let Ok(prefix) = std::str::from_utf8(&b[..end]) else {
            continue;
        };
        match glob_match(pattern, prefix) {
            Err(()) => return s.to_string(),
            Ok(true) => return s[end..].to_string(),
            Ok(false) => {}
        }
    }
    s.to_string()
}

/// Shell-style matching: `*` (any run, `/` included), `?`, `[...]` classes, `\` escapes.
fn glob_match(pattern: &str, name: &str) -> Result<bool, ()> {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    fn class(p: &[char], mut i: usize, c: char) -> Result<(bool, usize), ()> {
        // p[i] is just after '['
        let negate = i < p.len() && (p[i] == '^' || p[i] == '!');
        if negate {
            i += 1;
        }
        let mut matched = false;
        let mut first = true;
        loop {
            if i >= p.len() {
                return Err(());
            }
            if p[i] == ']' && !first {
                return Ok((matched != negate, i + 1));
            }
            first = false;
            let mut lo = p[i];
            if lo == '\\' {
                i += 1;
                lo = *p.get(i).ok_or(())?;
            }
            i += 1;
            let mut hi = lo;
            if i + 1 < p.len() && p[i] == '-' && p[i + 1] != ']' {
                hi = p[i + 1];
                if hi == '\\' {
                    hi = *p.get(i + 2).ok_or(())?;
                    i += 1;
                }
                i += 2;
            }
            if lo <= c && c <= hi {
                matched = true;
            }
        }
    }
    fn go(p: &[char], n: &[char]) -> Result<bool, ()> {
        let (mut pi, mut ni) = (0, 0);
        let mut star: Option<(usize, usize)> = None;
        loop {
            if pi < p.len() {
                match p[pi] {
                    '*' => {
                        star = Some((pi, ni));
                        pi += 1;
                        continue;
                    }
                    '?' if ni < n.len() => {
                        pi += 1;
                        ni += 1;
                        continue;
                    }
                    '[' if ni < n.len() => {
                        let (ok, next) = class(p, pi + 1, n[ni])?;
                        if ok {
                            pi = next;
                            ni += 1;
                            continue;
                        }
                    }
                    '\\' => {
                        let c = *p.get(pi + 1).ok_or(())?;
                        if ni < n.len() && n[ni] == c {
                            pi += 2;
                            ni += 1;
                            continue;
                        }
                    }
                    c if ni < n.len() && c == n[ni] && c != '?' && c != '[' => {
                        pi += 1;
                        ni += 1;
                        continue;
                    }
                    _ => {}
                }
            } else if ni == n.len() {
                return Ok(true);
            }
            match star {
                Some((sp, sn)) if sn < n.len() => {
                    star = Some((sp, sn + 1));
                    pi = sp + 1;
                    ni = sn + 1;
                }
                _ => return Ok(false),
            }
        }
    }
    go(&p, &n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sub(text: &str, vars: &[(&str, &str)]) -> Result<String, Error> {
        let values: BTreeMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        substitute(
            text,
            &Vars {
                values: &values,
                unknown: &BTreeSet::new(),
                undefined_unknown: false,
                strict: false,
            },
        )
        .map(|s| s.text)
    }

    #[test]
    fn upstream_vectors() {
        let v = [("var01", "abcdEFGH28ij")];
        assert_eq!(sub("${#var01}", &v).unwrap(), "12");
        assert_eq!(sub("${var01^}", &v).unwrap(), "AbcdEFGH28ij");
        assert_eq!(sub("${var01^^}", &v).unwrap(), "ABCDEFGH28IJ");
        let up = [("var01", "ABCDEFGH28IJ")];
        assert_eq!(sub("${var01,}", &up).unwrap(), "aBCDEFGH28IJ");
        assert_eq!(sub("${var01,,}", &up).unwrap(), "abcdefgh28ij");
        let p = [("path_name", "/home/bozo/ideas/thoughts.for.today")];
        assert_eq!(
            sub("${path_name:11}", &p).unwrap(),
            "ideas/thoughts.for.today"
        );
        assert_eq!(sub("${path_name:11:5}", &p).unwrap(), "ideas");
        assert_eq!(sub("${var=xyz}", &[("var", "abc")]).unwrap(), "abc");
        assert_eq!(sub("${var=xyz}", &[]).unwrap(), "xyz");
        assert_eq!(sub("${var:=xyz}", &[]).unwrap(), "xyz");
        assert_eq!(
            sub("something ${var=${default_var}}", &[("default_var", "foo")]).unwrap(),
            "something foo"
        );
        assert_eq!(
            sub(
                "foo: ${var=${default_var}-suffix}",
                &[("default_var", "foo1")]
            )
            .unwrap(),
            "foo: foo1-suffix"
        );
        assert_eq!(
            sub(
                "foo: ${var=prefix${default_var}-suffix}",
                &[("default_var", "foo1")]
            )
            .unwrap(),
            "foo: prefixfoo1-suffix"
        );
        let z = [("stringZ", "abcABC123ABCabc")];
        assert_eq!(sub("${stringZ/%abc/XYZ}", &z).unwrap(), "abcABC123ABCXYZ");
        assert_eq!(sub("${stringZ/#abc/XYZ}", &z).unwrap(), "XYZABC123ABCabc");
        assert_eq!(sub("${stringZ//abc/xyz}", &z).unwrap(), "xyzABC123ABCxyz");
        assert_eq!(sub("${stringZ/abc/xyz}", &z).unwrap(), "xyzABC123ABCabc");
        let s = [("stringZ", "somevalue")];
        assert_eq!(sub("${stringZ/#/prefix-}", &s).unwrap(), "prefix-somevalue");
        assert_eq!(sub("${stringZ/%/-suffix}", &s).unwrap(), "somevalue-suffix");
        let f = [("filename", "bash.string.txt")];
        assert_eq!(sub("${filename#*.}", &f).unwrap(), "string.txt");
        assert_eq!(sub("${filename##*.}", &f).unwrap(), "txt");
        assert_eq!(sub("${filename%.*}", &f).unwrap(), "bash.string");
        assert_eq!(sub("${filename%%.*}", &f).unwrap(), "bash");
        assert_eq!(
            sub("${filename#*/}", &[("filename", "path/to/file")]).unwrap(),
            "to/file"
        );
        assert_eq!(
            sub("${filename##*/}", &[("filename", "path/to/file")]).unwrap(),
            "file"
        );
        assert_eq!(
            sub("${filename#*/}", &[("filename", "/path/to/file")]).unwrap(),
            "path/to/file"
        );
        assert_eq!(
            sub("${filename##*/}", &[("filename", "/path/to/file")]).unwrap(),
            "file"
        );
        assert_eq!(sub("${var=${var01^^}}", &v).unwrap(), "ABCDEFGH28IJ");
        assert_eq!(sub("$${var01}", &v).unwrap(), "${var01}");
        assert_eq!(
            sub("some text ${var01}$${var$${var01}$var01${var01}", &v).unwrap(),
            "some text abcdEFGH28ij${var${var01}$var01abcdEFGH28ij"
        );
        assert_eq!(
            sub(
                "something $${var=${default_var}}",
                &[("default_var", "foo")]
            )
            .unwrap(),
            "something ${var=foo}"
        );
        assert_eq!(
            sub(r"${stringZ/\//-}", &[("stringZ", "foo/bar")]).unwrap(),
            "foo-bar"
        );
        assert_eq!(
            sub(r"${stringZ//\//-}", &[("stringZ", "foo/bar/baz")]).unwrap(),
            "foo-bar-baz"
        );
        assert_eq!(
            sub(
                r"\\something ${var=${default_var}}",
                &[("default_var", "foo")]
            )
            .unwrap(),
            r"\\something foo"
        );
        assert_eq!(
            sub("${stringZ/./}", &[("stringZ", "foo.bar")]).unwrap(),
            "foobar"
        );
    }

    #[test]
    fn grammar_edges() {
        assert_eq!(sub("}text", &[]).unwrap(), "}text");
        assert_eq!(sub("http://github.com", &[]).unwrap(), "http://github.com");
        assert_eq!(sub("$$string", &[]).unwrap(), "$string");
        assert_eq!(
            sub(r"\\.\pipe\pipename", &[]).unwrap(),
            r"\\.\pipe\pipename"
        );
        assert_eq!(sub("$var stays", &[("var", "x")]).unwrap(), "$var stays");
        assert_eq!(sub("a ${undefined} b", &[]).unwrap(), "a  b");
        assert_eq!(sub("${var:-1}", &[]).unwrap(), "1");
        assert_eq!(sub("${var:1:-1}", &[("var", "abcde")]).unwrap(), "bcd");
        assert_eq!(sub("${var-default}", &[]), Err(Error::MissingClosingBrace));
        assert_eq!(sub("${}", &[]), Err(Error::ParseVariableName));
        assert!(sub("${var", &[]).is_err());
        assert!(sub("${foo.bar}", &[]).is_err());
        assert_eq!(sub("cost: $5 and $", &[]).unwrap(), "cost: $5 and $");
    }

    #[test]
    fn strict_mode() {
        let empty = BTreeMap::new();
        let none = BTreeSet::new();
        let strict = Vars {
            values: &empty,
            unknown: &none,
            undefined_unknown: false,
            strict: true,
        };
        assert_eq!(
            substitute("${missing}", &strict).err(),
            Some(Error::NotSet("missing".into()))
        );
        assert_eq!(
            substitute("${missing:=default}", &strict).unwrap().text,
            "default"
        );
        assert_eq!(
            substitute("${missing=assigned}", &strict).unwrap().text,
            "assigned"
        );
        assert!(substitute("${missing^^}", &strict).is_err());
        assert!(substitute("${#missing}", &strict).is_err());
        let defined: BTreeMap<String, String> = [("foo".to_string(), String::new())].into();
        assert_eq!(
            substitute(
                "${foo}",
                &Vars {
                    values: &defined,
                    unknown: &none,
                    undefined_unknown: false,
                    strict: true
                }
            )
            .unwrap()
            .text,
            ""
        );
    }

    #[test]
    fn undefined_and_unknown_are_reported() {
        let values: BTreeMap<String, String> = [("a".to_string(), "1".to_string())].into();
        let unknown: BTreeSet<String> = ["secret".to_string()].into();
        let vars = Vars {
            values: &values,
            unknown: &unknown,
            undefined_unknown: false,
            strict: false,
        };
        let s = substitute("${a} ${b} ${c:=x} ${secret} ${secret:=d}", &vars).unwrap();
        assert_eq!(s.text, "1  x ${secret} ${secret}");
        assert_eq!(s.undefined, vec!["b".to_string()]);
        assert_eq!(s.unknown, vec!["secret".to_string(), "secret".to_string()]);
        assert_eq!(s.referenced, vec!["a", "b", "c", "secret", "secret"]);
        // Strict mode does not fail on an unknown variable: it exists, only its value is hidden.
        let strict = Vars {
            values: &values,
            unknown: &unknown,
            undefined_unknown: false,
            strict: true,
        };
        assert_eq!(substitute("${secret}", &strict).unwrap().text, "${secret}");
    }
}
