//! Executing parsed templates as Go's text/template/exec.go does: pipelines, variables and
//! their scopes, fields of maps and host objects, `if/with/range` with `else`, `break` and
//! `continue`, template calls, function calls with Go's argument checks, and Go's error texts
//! (`template: NAME:LINE:COL: executing "NAME" at <NODE>: ...`). Missing map keys print
//! `<no value>` (Go's `missingkey=zero` on `map[string]interface{}`).
//!
//! Limits keep hostile templates finite: nesting depth, steps and output size. Functions
//! themselves live in `funcs`; this module only calls them.

use crate::gofmt;
use crate::parse::{self, Arg, Branch, Command, Node, Pipe, Pos, Tree};
use crate::value::Value;
use std::collections::HashMap;
use std::fmt;
use std::rc::Rc;

/// What a parameter of a function accepts, as the Go parameter type would.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum P {
    /// interface{}
    Any,
    Str,
    Int,
    Float,
    Bool,
    /// map[string]interface{}
    Map,
    /// []interface{}
    List,
}

impl P {
    fn go_name(self) -> &'static str {
        match self {
            P::Any => "interface {}",
            P::Str => "string",
            P::Int => "int",
            P::Float => "float64",
            P::Bool => "bool",
            P::Map => "map[string]interface {}",
            P::List => "[]interface {}",
        }
    }
}

pub type FuncImpl = fn(&mut Exec, Vec<Value>) -> Result<Value, String>;

/// A template function: its Go signature and its body.
#[derive(Clone, Copy)]
pub struct Func {
    pub params: &'static [P],
    pub variadic: Option<P>,
    pub f: FuncImpl,
}

pub type FuncMap = HashMap<&'static str, Func>;

/// Bounds on one execution, so hostile templates end with an error.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Nested template calls (`template`, `include`, `tpl`).
    pub max_depth: usize,
    /// Evaluated nodes and loop iterations.
    pub max_steps: u64,
    /// Bytes of output of one execution, and of any one string a function builds.
    pub max_output: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_depth: 1500,
            max_steps: 50_000_000,
            max_output: 64 << 20,
        }
    }
}

type TreeMap = HashMap<String, Rc<Tree>>;

/// A set of named templates sharing functions, as a Go `*template.Template` and its
/// associated templates.
#[derive(Clone)]
pub struct Templates {
    trees: Rc<HashMap<String, Rc<Tree>>>,
    /// A `tpl` text parsed over the set: its own name and its `define`s shadow the set's, for
    /// that one execution.
    overlays: Vec<(String, Rc<TreeMap>)>,
    /// The name of the set itself, as Go's errors name it (`template: no template "x"
    /// associated with template "gotpl"`); Helm's is `gotpl`.
    pub root_name: String,
    funcs: Rc<FuncMap>,
    pub limits: Limits,
    /// What a missing map key gives (Go's `missingkey` option; Helm sets `zero`).
    pub missing_key: MissingKey,
}

/// Go's `missingkey` option.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MissingKey {
    /// Nothing: a field of it quietly gives nothing again (`missingkey=default`).
    #[default]
    Invalid,
    /// The map's zero element, a nil interface: a field of it is an error, `nil pointer
    /// evaluating interface {}.x` (`missingkey=zero`, Helm's setting).
    Zero,
    /// An error, `map has no entry for key "x"` (`missingkey=error`).
    Error,
}

impl Templates {
    pub fn new(funcs: FuncMap) -> Templates {
        Templates {
            trees: Rc::new(HashMap::new()),
            overlays: Vec::new(),
            root_name: "gotpl".into(),
            funcs: Rc::new(funcs),
            limits: Limits::default(),
            missing_key: MissingKey::Invalid,
        }
    }

    pub fn has_function(&self, name: &str) -> bool {
        self.funcs.contains_key(name) || BUILTIN_SPECIAL.contains(&name)
    }

    /// Parses `text` as the template `name` (Go's `t.New(name).Parse(text)`): its `define`s
    /// replace templates of the same name unless they are empty.
    pub fn parse(&mut self, name: &str, text: &str) -> Result<(), parse::ParseError> {
        let trees = parse::parse(name, text, &|f| self.has_function(f), false)?;
        let map = Rc::make_mut(&mut self.trees);
        for tree in trees {
            if let Some(old) = map.get(&tree.name)
                && tree.is_empty()
                && !old.is_empty()
            {
                continue;
            }
            map.insert(tree.name.clone(), Rc::new(tree));
        }
        Ok(())
    }

    /// The set with `text` parsed as `name` over it (Helm's `tpl`).
    pub fn with_overlay(&self, name: &str, text: &str) -> Result<Templates, parse::ParseError> {
        let trees = parse::parse(name, text, &|f| self.has_function(f), false)?;
        let mut local = HashMap::new();
        for tree in trees {
            local.insert(tree.name.clone(), Rc::new(tree));
        }
        let mut set = self.clone();
        set.overlays.push((name.to_string(), Rc::new(local)));
        Ok(set)
    }

    pub fn lookup(&self, name: &str) -> Option<Rc<Tree>> {
        for (_, local) in self.overlays.iter().rev() {
            if let Some(t) = local.get(name) {
                return Some(t.clone());
            }
        }
        self.trees.get(name).cloned()
    }

    pub fn names(&self) -> impl Iterator<Item = &String> {
        self.trees.keys()
    }

    /// Executes the template `name` with `data` as dot.
    pub fn execute(&self, name: &str, data: &Value) -> Result<String, ExecError> {
        let mut exec = Exec::new(Rc::new(self.clone()));
        exec.execute_template(name, data.clone())
    }
}

/// `and`, `or` and `call` are evaluated by the executor itself.
const BUILTIN_SPECIAL: &[&str] = &["and", "or", "call"];

/// An execution error, worded as Go words it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExecError {
    /// The template executing (`executing "NAME"`).
    pub name: String,
    /// `FILE:LINE:COL`, empty when no node is known.
    pub location: String,
    /// The node, as Go prints it in `at <...>` (shortened to 20 bytes).
    pub context: String,
    pub message: String,
}

impl fmt::Display for ExecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.location.is_empty() && self.name.is_empty() {
            write!(f, "template: {}", self.message)
        } else if self.location.is_empty() {
            write!(f, "template: {}: {}", self.name, self.message)
        } else {
            write!(
                f,
                "template: {}: executing {} at <{}>: {}",
                self.location,
                gofmt::quote(&self.name),
                self.context,
                self.message
            )
        }
    }
}

enum Flow {
    Normal,
    Break,
    Continue,
}

type R<T> = Result<T, ExecError>;

/// A value in the evaluator, with whether it sits in an interface slot (a map entry or list
/// element): Go errors on a field of such a nil ("nil pointer evaluating interface {}.x") and
/// names its type `interface {}`, but quietly gives nothing for a field of a nil that came out
/// of a pipeline.
#[derive(Clone)]
struct V {
    v: Value,
    iface: bool,
}

impl V {
    fn plain(v: Value) -> V {
        V { v, iface: false }
    }
    fn elem(v: Value) -> V {
        V { v, iface: true }
    }
}

/// One execution: the template set, the variables in scope, the output and the counters
/// behind the limits. Functions receive it to call back into templates (`include`, `tpl`).
pub struct Exec {
    pub set: Rc<Templates>,
    tree: Option<Rc<Tree>>,
    name: String,
    vars: Vec<(String, V)>,
    out: String,
    depth: usize,
    steps: u64,
    /// Named counters functions may keep for the whole execution (Helm's include recursion).
    pub counters: HashMap<String, usize>,
    /// Functions used whose output depends on the seed or the clock (`random`, `uuidv4`, `now`).
    pub notes: std::collections::BTreeSet<String>,
    /// The random generator's state (`randAlphaNum`, `uuidv4`...): set it for reproducible output.
    pub seed: u64,
    /// What `now` returns, in Unix seconds: fixed, so renders are reproducible.
    pub now_unix: i64,
}

impl Exec {
    pub fn new(set: Rc<Templates>) -> Exec {
        Exec {
            set,
            tree: None,
            name: String::new(),
            vars: Vec::new(),
            out: String::new(),
            depth: 0,
            steps: 0,
            counters: HashMap::new(),
            notes: Default::default(),
            seed: 0,
            now_unix: 0,
        }
    }

    pub fn limits(&self) -> Limits {
        self.set.limits
    }

    /// Executes the named template into a fresh buffer and returns its text (Go's
    /// `ExecuteTemplate`, as `include` uses it).
    pub fn execute_template(&mut self, name: &str, data: Value) -> R<String> {
        let Some(tree) = self.set.lookup(name) else {
            return Err(ExecError {
                name: String::new(),
                location: String::new(),
                context: String::new(),
                message: format!(
                    "no template {} associated with template {}",
                    gofmt::quote(name),
                    gofmt::quote(&self.set.root_name)
                ),
            });
        };
        if self.depth >= self.set.limits.max_depth {
            return Err(self.err_plain(
                name,
                format!(
                    "exceeded maximum template depth ({})",
                    self.set.limits.max_depth
                ),
            ));
        }
        let saved_out = std::mem::take(&mut self.out);
        let saved_vars =
            std::mem::replace(&mut self.vars, vec![("$".into(), V::plain(data.clone()))]);
        let saved_tree = self.tree.replace(tree.clone());
        let saved_name = std::mem::replace(&mut self.name, name.to_string());
        self.depth += 1;
        let r = self.walk_list(&V::plain(data), &tree.root);
        self.depth -= 1;
        self.name = saved_name;
        self.tree = saved_tree;
        self.vars = saved_vars;
        let out = std::mem::replace(&mut self.out, saved_out);
        r.map(|_| out)
    }

    fn err_plain(&self, name: &str, message: String) -> ExecError {
        ExecError {
            name: name.to_string(),
            location: String::new(),
            context: String::new(),
            message,
        }
    }

    fn location(&self, pos: Pos) -> String {
        let Some(tree) = &self.tree else {
            return String::new();
        };
        let text = &tree.text[..pos.offset.min(tree.text.len())];
        let line = 1 + text.matches('\n').count();
        let col = match text.rfind('\n') {
            Some(i) => pos.offset - (i + 1),
            None => pos.offset,
        };
        format!("{}:{}:{}", tree.parse_name, line, col)
    }

    fn err(&self, pos: Pos, context: String, message: String) -> ExecError {
        let context = if context.len() > 20 {
            let mut end = 20;
            while !context.is_char_boundary(end) {
                end -= 1;
            }
            format!("{}...", &context[..end])
        } else {
            context
        };
        ExecError {
            name: self.name.clone(),
            location: self.location(pos),
            context,
            message,
        }
    }

    fn err_arg(&self, a: &Arg, message: String) -> ExecError {
        self.err(a.pos(), parse::arg_string(a), message)
    }

    fn step(&mut self, pos: Pos, ctx: &dyn Fn() -> String) -> R<()> {
        self.steps += 1;
        if self.steps > self.set.limits.max_steps {
            return Err(self.err(
                pos,
                ctx(),
                format!(
                    "template execution exceeded {} steps",
                    self.set.limits.max_steps
                ),
            ));
        }
        Ok(())
    }

    fn write(&mut self, s: &str, pos: Pos) -> R<()> {
        if self.out.len() + s.len() > self.set.limits.max_output {
            return Err(self.err(
                pos,
                String::new(),
                format!("output exceeds {} bytes", self.set.limits.max_output),
            ));
        }
        self.out.push_str(s);
        Ok(())
    }

    fn walk_list(&mut self, dot: &V, list: &[Node]) -> R<Flow> {
        for n in list {
            match self.walk(dot, n)? {
                Flow::Normal => {}
                f => return Ok(f),
            }
        }
        Ok(Flow::Normal)
    }

    fn walk(&mut self, dot: &V, node: &Node) -> R<Flow> {
        // Template calls, includes and nested blocks recurse: grow the stack instead of
        // overflowing it (the depth and step limits bound the total).
        crate::grow(|| self.walk_inner(dot, node))
    }

    fn walk_inner(&mut self, dot: &V, node: &Node) -> R<Flow> {
        match node {
            Node::Text(pos, t) => {
                self.write(t, *pos)?;
            }
            Node::Action(pos, pipe) => {
                self.step(*pos, &|| parse::pipe_string(pipe))?;
                let v = self.eval_pipeline(dot, pipe)?;
                if pipe.decl.is_empty() {
                    let s = match &v {
                        Value::Nil => "<no value>".to_string(),
                        Value::String(s) => s.to_string(),
                        v => gofmt::sprint_value(v),
                    };
                    self.write(&s, *pos)?;
                }
            }
            Node::If(b) => return self.walk_if_with(dot, b, false),
            Node::With(b) => return self.walk_if_with(dot, b, true),
            Node::Range(b) => return self.walk_range(dot, b),
            Node::Template(pos, name, pipe) => {
                let Some(tree) = self.set.lookup(name) else {
                    return Err(self.err(
                        *pos,
                        parse::node_string(node),
                        format!("template {} not defined", gofmt::quote(name)),
                    ));
                };
                if self.depth >= self.set.limits.max_depth {
                    return Err(self.err(
                        *pos,
                        parse::node_string(node),
                        format!(
                            "exceeded maximum template depth ({})",
                            self.set.limits.max_depth
                        ),
                    ));
                }
                let new_dot = match pipe {
                    Some(p) => self.eval_pipeline(dot, p)?,
                    None => Value::Nil,
                };
                let saved_vars = std::mem::replace(
                    &mut self.vars,
                    vec![("$".into(), V::plain(new_dot.clone()))],
                );
                let saved_tree = self.tree.replace(tree.clone());
                let saved_name = std::mem::replace(&mut self.name, name.clone());
                self.depth += 1;
                let r = self.walk_list(&V::plain(new_dot), &tree.root);
                self.depth -= 1;
                self.name = saved_name;
                self.tree = saved_tree;
                self.vars = saved_vars;
                r?;
            }
            Node::Break(_) => return Ok(Flow::Break),
            Node::Continue(_) => return Ok(Flow::Continue),
            Node::List(l) => return self.walk_list(dot, l),
            Node::Comment(..) | Node::End(_) | Node::Else(_) => {}
        }
        Ok(Flow::Normal)
    }

    fn walk_if_with(&mut self, dot: &V, b: &Branch, is_with: bool) -> R<Flow> {
        let mark = self.vars.len();
        let r = (|| {
            let v = self.eval_pipeline(dot, &b.pipe)?;
            if v.truth() {
                if is_with {
                    self.walk_list(&V::plain(v), &b.list)
                } else {
                    self.walk_list(dot, &b.list)
                }
            } else if let Some(e) = &b.else_list {
                self.walk_list(dot, e)
            } else {
                Ok(Flow::Normal)
            }
        })();
        self.vars.truncate(mark);
        r
    }

    fn walk_range(&mut self, dot: &V, b: &Branch) -> R<Flow> {
        let mark = self.vars.len();
        let r = self.walk_range_inner(dot, b);
        self.vars.truncate(mark);
        r
    }

    fn walk_range_inner(&mut self, dot: &V, b: &Branch) -> R<Flow> {
        let val = self.eval_pipeline(dot, &b.pipe)?;
        let mark = self.vars.len();
        let pipe = &b.pipe;
        // The elements, snapshotted first (the body may change the map it ranges over).
        let items: Vec<(Value, Value)> = match &val {
            Value::List(l) => l
                .iter()
                .enumerate()
                .map(|(i, v)| (Value::Int(i as i64), v.clone()))
                .collect(),
            Value::Bytes(bs) => bs
                .iter()
                .enumerate()
                .map(|(i, v)| (Value::Int(i as i64), Value::Int(*v as i64)))
                .collect(),
            Value::Map(m) => m
                .borrow()
                .iter()
                .map(|(k, v)| (Value::str(k.as_str()), v.clone()))
                .collect(),
            Value::Int(n) => {
                if pipe.decl.len() > 1 {
                    return Err(self.err(
                        b.pos,
                        parse::pipe_string(pipe),
                        format!("can't use {n} to iterate over more than one variable"),
                    ));
                }
                let n = *n;
                if n > 0 && n as u64 > self.set.limits.max_steps {
                    return Err(self.err(
                        b.pos,
                        parse::pipe_string(pipe),
                        format!("range over {n} exceeds the step limit"),
                    ));
                }
                (0..n.max(0)).map(|i| (Value::Nil, Value::Int(i))).collect()
            }
            Value::Nil => Vec::new(),
            Value::Object(o) => match &o.to_data() {
                Value::Map(m) => m
                    .borrow()
                    .iter()
                    .map(|(k, v)| (Value::str(k.as_str()), v.clone()))
                    .collect(),
                Value::List(l) => l
                    .iter()
                    .enumerate()
                    .map(|(i, v)| (Value::Int(i as i64), v.clone()))
                    .collect(),
                _ => {
                    return Err(self.err(
                        b.pos,
                        parse::pipe_string(pipe),
                        format!("range can't iterate over {}", o.print()),
                    ));
                }
            },
            other => {
                return Err(self.err(
                    b.pos,
                    parse::pipe_string(pipe),
                    format!("range can't iterate over {}", gofmt::sprint_value(other)),
                ));
            }
        };
        if items.is_empty() {
            if let Some(e) = &b.else_list {
                return self.walk_list(dot, e);
            }
            return Ok(Flow::Normal);
        }
        for (index, elem) in items {
            self.step(b.pos, &|| parse::pipe_string(pipe))?;
            let n = pipe.decl.len();
            if n > 0 {
                if pipe.is_assign {
                    if n > 1 {
                        self.set_var(&pipe.decl[0], V::plain(index.clone()));
                    } else {
                        self.set_var(&pipe.decl[0], V::elem(elem.clone()));
                    }
                } else {
                    let top = self.vars.len() - 1;
                    self.vars[top].1 = V::elem(elem.clone());
                }
            }
            if n > 1 {
                if pipe.is_assign {
                    self.set_var(&pipe.decl[1], V::elem(elem.clone()));
                } else {
                    let top = self.vars.len() - 2;
                    self.vars[top].1 = V::plain(index.clone());
                }
            }
            let r = self.walk_list(&V::elem(elem), &b.list);
            self.vars.truncate(mark);
            match r? {
                Flow::Break => break,
                Flow::Continue | Flow::Normal => {}
            }
        }
        Ok(Flow::Normal)
    }

    fn set_var(&mut self, name: &str, v: V) -> bool {
        for (n, slot) in self.vars.iter_mut().rev() {
            if n == name {
                *slot = v;
                return true;
            }
        }
        false
    }

    fn var_value(&self, name: &str) -> Option<V> {
        self.vars
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    }

    fn eval_pipeline(&mut self, dot: &V, pipe: &Pipe) -> R<Value> {
        crate::grow(|| self.eval_pipeline_inner(dot, pipe))
    }

    fn eval_pipeline_inner(&mut self, dot: &V, pipe: &Pipe) -> R<Value> {
        let mut value: Option<V> = None;
        for cmd in &pipe.cmds {
            let v = self.eval_command(dot, cmd, value.take())?;
            value = Some(V::plain(v.v));
        }
        let value = value.map(|v| v.v).unwrap_or_default();
        for name in &pipe.decl {
            if pipe.is_assign {
                if !self.set_var(name, V::plain(value.clone())) {
                    return Err(self.err(
                        pipe.pos,
                        parse::pipe_string(pipe),
                        format!("undefined variable: {name}"),
                    ));
                }
            } else {
                self.vars.push((name.clone(), V::plain(value.clone())));
            }
        }
        Ok(value)
    }

    fn not_a_function(&self, cmd: &Command, final_: &Option<V>) -> R<()> {
        if cmd.args.len() > 1 || final_.is_some() {
            return Err(self.err_arg(
                &cmd.args[0],
                format!(
                    "can't give argument to non-function {}",
                    parse::arg_string(&cmd.args[0])
                ),
            ));
        }
        Ok(())
    }

    fn eval_command(&mut self, dot: &V, cmd: &Command, final_: Option<V>) -> R<V> {
        let first = &cmd.args[0];
        match first {
            Arg::Field(_, idents) => {
                return self.eval_field_chain(dot, dot.clone(), first, idents, &cmd.args, final_);
            }
            Arg::Chain(pos, node, fields) => {
                if matches!(node.as_ref(), Arg::Nil(_)) {
                    return Err(self.err(
                        *pos,
                        parse::arg_string(first),
                        format!(
                            "indirection through explicit nil in {}",
                            parse::arg_string(first)
                        ),
                    ));
                }
                let recv = self.eval_arg(dot, P::Any, node)?;
                return self.eval_field_chain(
                    dot,
                    V::plain(recv.v),
                    first,
                    fields,
                    &cmd.args,
                    final_,
                );
            }
            Arg::Identifier(_, name) => {
                return self.eval_function(dot, name, cmd, &cmd.args, final_);
            }
            Arg::Pipe(_, p) => {
                self.not_a_function(cmd, &final_)?;
                return Ok(V::plain(self.eval_pipeline(dot, p)?));
            }
            Arg::Variable(_, idents) => {
                return self.eval_variable(dot, first, idents, &cmd.args, final_);
            }
            _ => {}
        }
        self.not_a_function(cmd, &final_)?;
        Ok(V::plain(match first {
            Arg::Bool(_, b) => Value::Bool(*b),
            Arg::Dot(_) => dot.v.clone(),
            Arg::Nil(_) => return Err(self.err_arg(first, "nil is not a command".into())),
            Arg::Number(_, n) => self.ideal_constant(first, n)?,
            Arg::String(_, _, s) => Value::String(s.clone()),
            _ => {
                return Err(self.err_arg(
                    first,
                    format!(
                        "can't evaluate command {}",
                        gofmt::quote(&parse::arg_string(first))
                    ),
                ));
            }
        }))
    }

    fn ideal_constant(&self, a: &Arg, n: &parse::Number) -> R<Value> {
        if n.is_complex {
            return Err(self.err_arg(a, "complex numbers are not supported".into()));
        }
        let t = &n.text;
        let is_hex_int = t.len() > 2
            && t.starts_with('0')
            && matches!(t.as_bytes()[1], b'x' | b'X')
            && !t.contains(['p', 'P']);
        let is_rune = t.starts_with('\'');
        if let Some(f) = n.float
            && !is_hex_int
            && !is_rune
            && t.contains(['.', 'e', 'E', 'p', 'P'])
        {
            return Ok(Value::Float(f));
        }
        if let Some(i) = n.int {
            return Ok(Value::Int(i));
        }
        if n.uint.is_some() {
            return Err(self.err_arg(a, format!("{t} overflows int")));
        }
        Ok(Value::Nil)
    }

    fn eval_variable(
        &mut self,
        dot: &V,
        a: &Arg,
        idents: &[String],
        args: &[Arg],
        final_: Option<V>,
    ) -> R<V> {
        let Some(value) = self.var_value(&idents[0]) else {
            return Err(self.err_arg(a, format!("undefined variable: {}", idents[0])));
        };
        if idents.len() == 1 {
            if args.len() > 1 || final_.is_some() {
                return Err(self.err_arg(
                    &args[0],
                    format!(
                        "can't give argument to non-function {}",
                        parse::arg_string(&args[0])
                    ),
                ));
            }
            return Ok(value);
        }
        self.eval_field_chain(dot, value, a, &idents[1..], args, final_)
    }

    fn eval_field_chain(
        &mut self,
        dot: &V,
        mut recv: V,
        node: &Arg,
        idents: &[String],
        args: &[Arg],
        final_: Option<V>,
    ) -> R<V> {
        let n = idents.len();
        for ident in &idents[..n - 1] {
            recv = self.eval_field(dot, ident, node, &[], None, recv)?;
        }
        self.eval_field(dot, &idents[n - 1], node, args, final_, recv)
    }

    fn eval_field(
        &mut self,
        dot: &V,
        name: &str,
        node: &Arg,
        args: &[Arg],
        final_: Option<V>,
        recv: V,
    ) -> R<V> {
        let has_args = args.len() > 1 || final_.is_some();
        match &recv.v {
            Value::Nil if recv.iface => Err(self.err_arg(
                node,
                format!("nil pointer evaluating interface {{}}.{name}"),
            )),
            Value::Nil if self.set.missing_key == MissingKey::Error && !recv.iface => Err(self
                .err_arg(
                    node,
                    format!("nil data; no entry for key {}", gofmt::quote(name)),
                )),
            Value::Nil => Ok(V::plain(Value::Nil)),
            Value::Map(m) => {
                if has_args {
                    return Err(
                        self.err_arg(node, format!("{name} is not a method but has arguments"))
                    );
                }
                let v = m.borrow().get(name).cloned();
                match v {
                    Some(v) => Ok(V::elem(v)),
                    None => match self.set.missing_key {
                        MissingKey::Error => Err(self.err_arg(
                            node,
                            format!("map has no entry for key {}", gofmt::quote(name)),
                        )),
                        MissingKey::Zero => Ok(V::elem(Value::Nil)),
                        MissingKey::Invalid => Ok(V::plain(Value::Nil)),
                    },
                }
            }
            Value::Object(o) => {
                if o.has_method(name) {
                    let o = o.clone();
                    let mut argv = Vec::new();
                    for a in args.iter().skip(1) {
                        argv.push(self.eval_arg(dot, P::Any, a)?.v);
                    }
                    if let Some(f) = final_ {
                        argv.push(f.v);
                    }
                    return o
                        .call(name, &argv)
                        .map(V::elem)
                        .map_err(|e| self.err_arg(node, format!("error calling {name}: {e}")));
                }
                match o.field(name) {
                    Some(v) => {
                        if has_args {
                            return Err(self.err_arg(
                                node,
                                format!("{name} has arguments but cannot be invoked as function"),
                            ));
                        }
                        Ok(V::elem(v))
                    }
                    None => Err(self.err_arg(
                        node,
                        format!("can't evaluate field {name} in type {}", o.type_name()),
                    )),
                }
            }
            other => {
                let t = if recv.iface {
                    "interface {}".to_string()
                } else {
                    other.type_name()
                };
                Err(self.err_arg(node, format!("can't evaluate field {name} in type {t}")))
            }
        }
    }

    fn eval_function(
        &mut self,
        dot: &V,
        name: &str,
        cmd: &Command,
        args: &[Arg],
        final_: Option<V>,
    ) -> R<V> {
        let args = &args[1..];
        let cmd_ctx = || parse::command_string(cmd);
        let mut num_in = args.len();
        if final_.is_some() {
            num_in += 1;
        }
        if name == "and" || name == "or" {
            if num_in < 1 {
                return Err(self.err(
                    cmd.pos,
                    cmd_ctx(),
                    format!("wrong number of args for {name}: want at least 1 got 0"),
                ));
            }
            let want = name == "or";
            let mut v = Value::Nil;
            for a in args {
                v = self.eval_arg(dot, P::Any, a)?.v;
                if v.truth() == want {
                    return Ok(V::plain(v));
                }
            }
            if let Some(f) = final_ {
                v = f.v;
            }
            return Ok(V::plain(v));
        }
        if name == "call" {
            if num_in < 1 {
                return Err(self.err(
                    cmd.pos,
                    cmd_ctx(),
                    "wrong number of args for call: want at least 1 got 0".into(),
                ));
            }
            let target = match args.first() {
                Some(a) => (parse::arg_string(a), self.eval_arg(dot, P::Any, a)?.v),
                None => ("pipeline".into(), final_.map(|f| f.v).unwrap_or_default()),
            };
            let msg = if target.1.is_nil() {
                "call of nil".to_string()
            } else {
                format!("non-function {} of type {}", target.0, target.1.type_name())
            };
            return Err(self.err(cmd.pos, cmd_ctx(), format!("error calling call: {msg}")));
        }
        let Some(func) = self.set.funcs.get(name).copied() else {
            return Err(self.err(
                cmd.pos,
                cmd_ctx(),
                format!("{} is not a defined function", gofmt::quote(name)),
            ));
        };
        let num_fixed = func.params.len();
        if func.variadic.is_some() {
            if num_in < num_fixed {
                return Err(self.err(
                    cmd.pos,
                    cmd_ctx(),
                    format!(
                        "wrong number of args for {name}: want at least {num_fixed} got {}",
                        args.len()
                    ),
                ));
            }
        } else if num_in != num_fixed {
            return Err(self.err(
                cmd.pos,
                cmd_ctx(),
                format!("wrong number of args for {name}: want {num_fixed} got {num_in}"),
            ));
        }
        let mut argv = Vec::with_capacity(num_in);
        for (i, a) in args.iter().enumerate() {
            let p = if i < num_fixed {
                func.params[i]
            } else {
                func.variadic.unwrap_or(P::Any)
            };
            argv.push(self.eval_arg(dot, p, a)?.v);
        }
        if let Some(f) = final_ {
            let p = if num_in - 1 < num_fixed {
                func.params[num_in - 1]
            } else {
                func.variadic.unwrap_or(P::Any)
            };
            let pos = cmd.pos;
            argv.push(self.validate_type(f, p, &|| (pos, cmd_ctx()))?);
        }
        self.step(cmd.pos, &cmd_ctx)?;
        match (func.f)(self, argv) {
            Ok(v) => Ok(V::plain(v)),
            Err(e) => Err(self.err(cmd.pos, cmd_ctx(), format!("error calling {name}: {e}"))),
        }
    }

    fn validate_type(&self, v: V, p: P, at: &dyn Fn() -> (Pos, String)) -> R<Value> {
        let fail = |msg: String| {
            let (pos, ctx) = at();
            Err(self.err(pos, ctx, msg))
        };
        match (&v.v, p) {
            (_, P::Any) => Ok(v.v),
            (Value::Nil, P::Map) => Ok(Value::map(Default::default())),
            (Value::Nil, P::List) => Ok(Value::list(Vec::new())),
            (Value::Nil, _) if v.iface => fail(format!(
                "wrong type for value; expected {}; got interface {{}}",
                p.go_name()
            )),
            (Value::Nil, _) => fail(format!("invalid value; expected {}", p.go_name())),
            (Value::String(_), P::Str)
            | (Value::Int(_), P::Int)
            | (Value::Float(_), P::Float)
            | (Value::Bool(_), P::Bool)
            | (Value::Map(_), P::Map)
            | (Value::List(_), P::List) => Ok(v.v),
            (other, p) => fail(format!(
                "wrong type for value; expected {}; got {}",
                p.go_name(),
                other.type_name()
            )),
        }
    }

    fn eval_arg(&mut self, dot: &V, p: P, a: &Arg) -> R<V> {
        let ctx_pos = a.pos();
        let at = || (ctx_pos, parse::arg_string(a));
        let v = match a {
            Arg::Dot(_) => dot.clone(),
            Arg::Nil(_) => {
                return match p {
                    P::Any => Ok(V::plain(Value::Nil)),
                    P::Map => Ok(V::plain(Value::map(Default::default()))),
                    P::List => Ok(V::plain(Value::list(Vec::new()))),
                    p => Err(self.err_arg(a, format!("cannot assign nil to {}", p.go_name()))),
                };
            }
            Arg::Field(_, idents) => {
                self.eval_field_chain(dot, dot.clone(), a, idents, std::slice::from_ref(a), None)?
            }
            Arg::Variable(_, idents) => self.eval_variable(dot, a, idents, &[], None)?,
            Arg::Pipe(_, pipe) => V::plain(self.eval_pipeline(dot, pipe)?),
            Arg::Identifier(_, name) => {
                let cmd = Command {
                    pos: a.pos(),
                    args: vec![a.clone()],
                };
                self.eval_function(dot, name, &cmd, &cmd.args, None)?
            }
            Arg::Chain(pos, node, fields) => {
                if matches!(node.as_ref(), Arg::Nil(_)) {
                    return Err(self.err(
                        *pos,
                        parse::arg_string(a),
                        format!(
                            "indirection through explicit nil in {}",
                            parse::arg_string(a)
                        ),
                    ));
                }
                let recv = self.eval_arg(dot, P::Any, node)?;
                self.eval_field_chain(dot, V::plain(recv.v), a, fields, &[], None)?
            }
            Arg::Bool(_, b) => {
                return match p {
                    P::Any | P::Bool => Ok(V::plain(Value::Bool(*b))),
                    _ => Err(self.literal_mismatch(a, p)),
                };
            }
            Arg::String(_, _, s) => {
                return match p {
                    P::Any | P::Str => Ok(V::plain(Value::String(s.clone()))),
                    _ => Err(self.literal_mismatch(a, p)),
                };
            }
            Arg::Number(_, n) => {
                return match p {
                    P::Any => Ok(V::plain(self.ideal_constant(a, n)?)),
                    P::Int if n.int.is_some() => Ok(V::plain(Value::Int(n.int.unwrap()))),
                    P::Float if n.float.is_some() => Ok(V::plain(Value::Float(n.float.unwrap()))),
                    _ => Err(self.literal_mismatch(a, p)),
                };
            }
        };
        Ok(V {
            v: self.validate_type(v.clone(), p, &at)?,
            iface: v.iface,
        })
    }

    fn literal_mismatch(&self, a: &Arg, p: P) -> ExecError {
        let what = match p {
            P::Bool => "bool",
            P::Int => "integer",
            P::Float => "float",
            P::Str => "string",
            P::Map | P::List | P::Any => {
                return self.err_arg(
                    a,
                    format!(
                        "can't handle {} for arg of type {}",
                        parse::arg_string(a),
                        p.go_name()
                    ),
                );
            }
        };
        self.err_arg(
            a,
            format!("expected {what}; found {}", parse::arg_string(a)),
        )
    }
}
