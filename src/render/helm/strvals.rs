//! Helm's `--set`, `--set-string` and `--set-json` syntax (helm's strvals package):
//! `a.b=c,list[1]=x,arr={a,b}`, backslash escapes, and the typing `--set` applies (`true`,
//! `false`, `null`, integers as int64; anything else a string), plus `-f` files merged in
//! order. Parse errors are Helm's words.

use gotmpl::{Map, Value};

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `--set`: typed scalars.
    Typed,
    /// `--set-string`: every scalar a string.
    String,
    /// `--set-json`: every value JSON.
    Json,
}

/// Merges `src` into `dst` as Helm merges values files: maps recursively, anything else
/// replaced.
pub fn merge_maps(dst: &Value, src: &Value) {
    let (Value::Map(d), Value::Map(s)) = (dst, src) else {
        return;
    };
    for (k, v) in s.borrow().iter() {
        let existing = d.borrow().get(k).cloned();
        match (existing, v) {
            (Some(dv @ Value::Map(_)), Value::Map(_)) => merge_maps(&dv, v),
            _ => {
                d.borrow_mut().insert(k.clone(), v.clone());
            }
        }
    }
}

/// Parses one `--set` style argument into `dst`.
pub fn parse_into(text: &str, dst: &Value, mode: Mode) -> Result<(), String> {
    let Value::Map(_) = dst else {
        return Err("values are not a map".into());
    };
    let mut p = P {
        s: text.chars().collect(),
        i: 0,
        mode,
        orig: text,
    };
    while p.i < p.s.len() {
        p.key(dst)?;
        if p.peek() == Some(',') {
            p.i += 1;
        }
    }
    Ok(())
}

struct P<'a> {
    s: Vec<char>,
    i: usize,
    mode: Mode,
    orig: &'a str,
}

fn typed(v: &str, mode: Mode) -> Value {
    if mode == Mode::String {
        return Value::from(v);
    }
    if v.eq_ignore_ascii_case("true") {
        return Value::Bool(true);
    }
    if v.eq_ignore_ascii_case("false") {
        return Value::Bool(false);
    }
    if v.eq_ignore_ascii_case("null") {
        return Value::Nil;
    }
    if v == "0" {
        return Value::Int(0);
    }
    if !v.starts_with('0')
        && let Ok(i) = v.parse::<i64>()
    {
        return Value::Int(i);
    }
    Value::from(v)
}

impl P<'_> {
    fn peek(&self) -> Option<char> {
        self.s.get(self.i).copied()
    }

    /// Reads up to one of `stops` (unescaped); returns the text and the stop met.
    fn until(&mut self, stops: &[char]) -> (String, Option<char>) {
        let mut out = String::new();
        while let Some(c) = self.peek() {
            if c == '\\'
                && let Some(n) = self.s.get(self.i + 1)
            {
                out.push(*n);
                self.i += 2;
                continue;
            }
            if stops.contains(&c) {
                return (out, Some(c));
            }
            out.push(c);
            self.i += 1;
        }
        (out, None)
    }

    fn key(&mut self, data: &Value) -> Result<(), String> {
        let (k, stop) = self.until(&['=', '.', '[', ',']);
        let Value::Map(m) = data else {
            return Err(format!("key {k:?} has no map to go into"));
        };
        match stop {
            None | Some(',') => {
                if k.is_empty() {
                    return Ok(());
                }
                Err(format!("key {k:?} has no value"))
            }
            Some('=') => {
                self.i += 1;
                let v = self.value()?;
                m.borrow_mut().insert(k, v);
                Ok(())
            }
            Some('.') => {
                self.i += 1;
                if k.is_empty() {
                    return Err(format!("key map {:?} has no value", self.orig));
                }
                let child = match m.borrow().get(&k).cloned() {
                    Some(c @ Value::Map(_)) => c,
                    _ => Value::map(Map::new()),
                };
                m.borrow_mut().insert(k, child.clone());
                self.key(&child)
            }
            Some('[') => {
                self.i += 1;
                let list = match m.borrow().get(&k) {
                    Some(Value::List(l)) => l.as_ref().clone(),
                    _ => Vec::new(),
                };
                let list = self.list_index(list)?;
                m.borrow_mut().insert(k, Value::list(list));
                Ok(())
            }
            _ => unreachable!(),
        }
    }

    fn list_index(&mut self, mut list: Vec<Value>) -> Result<Vec<Value>, String> {
        let (idx, stop) = self.until(&[']']);
        if stop != Some(']') {
            return Err(format!("unexpected end of input in {:?}", self.orig));
        }
        self.i += 1;
        let i: usize = idx
            .trim()
            .parse()
            .map_err(|_| format!("failed to parse list index {idx:?}"))?;
        if i > 65_536 {
            return Err(format!(
                "index of {i} is greater than maximum supported index of 65536"
            ));
        }
        while list.len() <= i {
            list.push(Value::Nil);
        }
        match self.peek() {
            Some('=') => {
                self.i += 1;
                list[i] = self.value()?;
            }
            Some('.') => {
                self.i += 1;
                let child = match &list[i] {
                    c @ Value::Map(_) => c.clone(),
                    _ => Value::map(Map::new()),
                };
                self.key(&child)?;
                list[i] = child;
            }
            Some('[') => {
                self.i += 1;
                let inner = match &list[i] {
                    Value::List(l) => l.as_ref().clone(),
                    _ => Vec::new(),
                };
                list[i] = Value::list(self.list_index(inner)?);
            }
            _ => return Err(format!("key {:?} has no value", self.orig)),
        }
        Ok(list)
    }

    fn value(&mut self) -> Result<Value, String> {
        if self.mode == Mode::Json {
            let start = self.i;
            let mut depth = 0i32;
            let mut in_str = false;
            while let Some(c) = self.peek() {
                if in_str {
                    if c == '\\' {
                        self.i += 1;
                    } else if c == '"' {
                        in_str = false;
                    }
                } else {
                    match c {
                        '"' => in_str = true,
                        '{' | '[' => depth += 1,
                        '}' | ']' => depth -= 1,
                        ',' if depth == 0 => break,
                        _ => {}
                    }
                }
                self.i += 1;
            }
            let text: String = self.s[start..self.i].iter().collect();
            return gotmpl::json::from_json(&text)
                .map_err(|e| format!("failed to parse JSON {text:?}: {e}"));
        }
        if self.peek() == Some('{') {
            self.i += 1;
            let mut items = Vec::new();
            loop {
                let (v, stop) = self.until(&[',', '}']);
                match stop {
                    Some(',') => {
                        self.i += 1;
                        items.push(typed(&v, self.mode));
                    }
                    Some('}') => {
                        self.i += 1;
                        if !v.is_empty() || !items.is_empty() {
                            items.push(typed(&v, self.mode));
                        }
                        return Ok(Value::list(items));
                    }
                    _ => return Err(format!("list must terminate with '}}' in {:?}", self.orig)),
                }
            }
        }
        let (v, _) = self.until(&[',']);
        Ok(typed(&v, self.mode))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(text: &str, mode: Mode) -> String {
        let v = Value::map(Map::new());
        parse_into(text, &v, mode).unwrap();
        gotmpl::json::to_json(&v, false).unwrap()
    }

    #[test]
    fn reads_helm_set_syntax() {
        assert_eq!(
            set("a.b=1,c=true,d=null,e=0755,f={x,y},g[1]=z", Mode::Typed),
            r#"{"a":{"b":1},"c":true,"d":null,"e":"0755","f":["x","y"],"g":[null,"z"]}"#
        );
        assert_eq!(set("a=1,b\\.c=2", Mode::String), r#"{"a":"1","b.c":"2"}"#);
        assert_eq!(
            set(r#"a={"x":[1,2]},b=3"#, Mode::Json),
            r#"{"a":{"x":[1,2]},"b":3}"#
        );
        assert_eq!(
            set("list[0].name=n", Mode::Typed),
            r#"{"list":[{"name":"n"}]}"#
        );
    }
}
