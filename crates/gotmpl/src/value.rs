//! The values templates see: what Go's `interface{}` holds after YAML or JSON decoding (nil,
//! bool, int64, float64, string, `[]interface{}`, `map[string]interface{}`), plus bytes and
//! host objects with fields and methods (Helm's `.Files`, `.Capabilities`). Maps are shared and
//! mutable, as Go's maps are: `set` or `mergeOverwrite` on `.Values` changes what every later
//! reader of `.Values` sees. Lists and strings are shared and immutable.
//!
//! This module knows how Go prints and compares values; it does not evaluate templates.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt;
use std::rc::Rc;

/// How deep copies, comparisons and printing follow nested values (a map can contain itself).
pub const MAX_DEPTH: usize = 10_000;

/// A Go map[string]interface{}: Go's templates range over it in sorted key order.
pub type Map = BTreeMap<String, Value>;

/// A shared, mutable Go map.
pub type MapRef = Rc<RefCell<Map>>;

/// A value as a Go template sees it.
#[derive(Clone, Default)]
pub enum Value {
    /// A nil interface (a YAML `null`, a missing key).
    #[default]
    Nil,
    Bool(bool),
    /// Go's int and int64.
    Int(i64),
    /// Go's float64: every number decoded from YAML or JSON values.
    Float(f64),
    String(Rc<str>),
    Bytes(Rc<[u8]>),
    List(Rc<Vec<Value>>),
    /// A Go map: shared and mutable.
    Map(MapRef),
    /// A host object with fields and methods (`.Files.Get`, `.Capabilities.APIVersions.Has`).
    Object(Rc<dyn Object>),
}

/// A host value with named fields and methods, as a Go struct or named type would have.
pub trait Object {
    /// Go's type name, for error messages (`chart.Files`).
    fn type_name(&self) -> &str;
    /// A field or a method with no arguments.
    fn field(&self, name: &str) -> Option<Value>;
    /// Whether `name` is a method taking arguments.
    fn has_method(&self, name: &str) -> bool {
        let _ = name;
        false
    }
    /// Calls the method `name`.
    fn call(&self, name: &str, args: &[Value]) -> Result<Value, String> {
        let _ = args;
        Err(format!("can't call method {name}"))
    }
    /// What `fmt.Sprint` prints for it.
    fn print(&self) -> String;
    /// Its truth in `if` (a non-empty collection is true).
    fn truth(&self) -> bool {
        true
    }
    /// The value as plain data, for `toYaml`, `toJson` and `range`.
    fn to_data(&self) -> Value {
        Value::String(self.print().into())
    }
}

impl Value {
    pub fn str(s: impl Into<Rc<str>>) -> Value {
        Value::String(s.into())
    }

    pub fn list(items: Vec<Value>) -> Value {
        Value::List(Rc::new(items))
    }

    pub fn map(map: Map) -> Value {
        Value::Map(Rc::new(RefCell::new(map)))
    }

    /// `m[key]` of a map value; `None` when it is not a map or has no such key.
    pub fn get(&self, key: &str) -> Option<Value> {
        match self {
            Value::Map(m) => m.borrow().get(key).cloned(),
            _ => None,
        }
    }

    pub fn is_nil(&self) -> bool {
        matches!(self, Value::Nil)
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_map(&self) -> Option<&MapRef> {
        match self {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    pub fn as_list(&self) -> Option<&[Value]> {
        match self {
            Value::List(l) => Some(l),
            _ => None,
        }
    }

    /// Go's type name, as `%T` and error messages print it.
    pub fn type_name(&self) -> String {
        match self {
            Value::Nil => "<nil>".into(),
            Value::Bool(_) => "bool".into(),
            Value::Int(_) => "int".into(),
            Value::Float(_) => "float64".into(),
            Value::String(_) => "string".into(),
            Value::Bytes(_) => "[]uint8".into(),
            Value::List(_) => "[]interface {}".into(),
            Value::Map(_) => "map[string]interface {}".into(),
            Value::Object(o) => o.type_name().into(),
        }
    }

    /// Go's reflect.Kind name (`kindOf`).
    pub fn kind_name(&self) -> &'static str {
        match self {
            Value::Nil => "invalid",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Float(_) => "float64",
            Value::String(_) => "string",
            Value::Bytes(_) | Value::List(_) => "slice",
            Value::Map(_) => "map",
            Value::Object(_) => "struct",
        }
    }

    /// Go's truth for `if`, `with`, `and`, `or`, `not`: the zero value and empty collections
    /// are false.
    pub fn truth(&self) -> bool {
        match self {
            Value::Nil => false,
            Value::Bool(b) => *b,
            Value::Int(i) => *i != 0,
            Value::Float(f) => *f != 0.0,
            Value::String(s) => !s.is_empty(),
            Value::Bytes(b) => !b.is_empty(),
            Value::List(l) => !l.is_empty(),
            Value::Map(m) => !m.borrow().is_empty(),
            Value::Object(o) => o.truth(),
        }
    }

    /// The value with host objects turned into data (for encoders).
    pub fn to_data(&self) -> Value {
        match self {
            Value::Object(o) => o.to_data(),
            Value::List(l) if l.iter().any(|v| matches!(v, Value::Object(_))) => Value::list(
                l.iter()
                    .map(|v| match v {
                        Value::Object(o) => o.to_data(),
                        other => other.clone(),
                    })
                    .collect(),
            ),
            other => other.clone(),
        }
    }

    /// A deep copy: maps are copied, so changing the copy leaves the original alone. A map
    /// that contains itself is copied to a bounded depth.
    pub fn deep_copy(&self) -> Value {
        self.deep_copy_at(0)
    }

    fn deep_copy_at(&self, depth: usize) -> Value {
        if depth > MAX_DEPTH {
            return Value::Nil;
        }
        crate::grow(|| match self {
            Value::Map(m) => Value::map(
                m.borrow()
                    .iter()
                    .map(|(k, v)| (k.clone(), v.deep_copy_at(depth + 1)))
                    .collect(),
            ),
            Value::List(l) => Value::list(l.iter().map(|v| v.deep_copy_at(depth + 1)).collect()),
            Value::Object(o) => o.to_data(),
            other => other.clone(),
        })
    }

    /// Deep equality as Go's `reflect.DeepEqual` sees decoded data.
    pub fn deep_eq(&self, other: &Value) -> bool {
        self.deep_eq_at(other, 0)
    }

    fn deep_eq_at(&self, other: &Value, depth: usize) -> bool {
        if depth > MAX_DEPTH {
            return false;
        }
        crate::grow(|| self.deep_eq_inner(other, depth))
    }

    fn deep_eq_inner(&self, other: &Value, depth: usize) -> bool {
        match (self, other) {
            (Value::Nil, Value::Nil) => true,
            (Value::Bool(a), Value::Bool(b)) => a == b,
            (Value::Int(a), Value::Int(b)) => a == b,
            (Value::Float(a), Value::Float(b)) => a == b,
            (Value::String(a), Value::String(b)) => a == b,
            (Value::Bytes(a), Value::Bytes(b)) => a == b,
            (Value::List(a), Value::List(b)) => {
                a.len() == b.len()
                    && a.iter()
                        .zip(b.iter())
                        .all(|(x, y)| x.deep_eq_at(y, depth + 1))
            }
            (Value::Map(a), Value::Map(b)) => {
                if Rc::ptr_eq(a, b) {
                    return true;
                }
                let (a, b) = (a.borrow(), b.borrow());
                a.len() == b.len()
                    && a.iter()
                        .zip(b.iter())
                        .all(|((ka, va), (kb, vb))| ka == kb && va.deep_eq_at(vb, depth + 1))
            }
            (Value::Object(a), Value::Object(b)) => Rc::ptr_eq(a, b),
            _ => false,
        }
    }
}

/// Deep values are torn down with a loop, not by recursion: a template can build a map nested
/// a hundred thousand levels deep, and dropping it recursively would overflow the stack.
impl Drop for Value {
    fn drop(&mut self) {
        let unique = match self {
            Value::Map(m) => Rc::strong_count(m) == 1 && !m.borrow().is_empty(),
            Value::List(l) => Rc::strong_count(l) == 1 && !l.is_empty(),
            _ => false,
        };
        if !unique {
            return;
        }
        let mut stack: Vec<Value> = Vec::new();
        take_children(self, &mut stack);
        while let Some(mut v) = stack.pop() {
            take_children(&mut v, &mut stack);
        }
    }
}

/// Moves the children of a value held only here onto `stack`, leaving it empty.
fn take_children(v: &mut Value, stack: &mut Vec<Value>) {
    match v {
        Value::Map(m) if Rc::strong_count(m) == 1 => {
            if let Ok(mut inner) = m.try_borrow_mut() {
                stack.extend(std::mem::take(&mut *inner).into_values());
            }
        }
        Value::List(l) => {
            if let Some(items) = Rc::get_mut(l) {
                stack.append(items);
            }
        }
        _ => {}
    }
}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&crate::gofmt::sprint_value(self))
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::String(s.into())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Value {
        Value::String(s.into())
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Value {
        Value::Bool(b)
    }
}

impl From<i64> for Value {
    fn from(i: i64) -> Value {
        Value::Int(i)
    }
}

impl From<f64> for Value {
    fn from(f: f64) -> Value {
        Value::Float(f)
    }
}
