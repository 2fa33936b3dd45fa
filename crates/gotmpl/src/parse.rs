//! The parser of Go's text/template (text/template/parse/parse.go and node.go): items into
//! trees, one per template name (`define` and `block` make more), with Go's error texts and
//! Go's `String()` form of every node.
//!
//! Parsing checks that functions exist (the caller says which names are functions); it does
//! not evaluate anything.

use crate::lex::{Item, ItemType, lex};
use std::collections::HashMap;
use std::fmt::{self, Write};
use std::rc::Rc;

/// A node's place: byte offset in the parsed text and 1-based line.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pos {
    pub offset: usize,
    pub line: usize,
}

#[derive(Clone, Debug)]
pub enum Node {
    Text(Pos, Rc<str>),
    Comment(Pos, String),
    Action(Pos, Pipe),
    If(Branch),
    Range(Branch),
    With(Branch),
    Template(Pos, String, Option<Pipe>),
    Break(Pos),
    Continue(Pos),
    List(Vec<Node>),
    /// Only inside the parser: `{{end}}` and `{{else}}` ending a list.
    End(Pos),
    Else(Pos),
}

#[derive(Clone, Debug)]
pub struct Branch {
    pub pos: Pos,
    pub pipe: Pipe,
    pub list: Vec<Node>,
    pub else_list: Option<Vec<Node>>,
}

#[derive(Clone, Debug)]
pub struct Pipe {
    pub pos: Pos,
    pub is_assign: bool,
    pub decl: Vec<String>,
    pub cmds: Vec<Command>,
}

#[derive(Clone, Debug)]
pub struct Command {
    pub pos: Pos,
    pub args: Vec<Arg>,
}

#[derive(Clone, Debug)]
pub enum Arg {
    Identifier(Pos, String),
    /// `$x.Field.Other`: the variable name then the fields.
    Variable(Pos, Vec<String>),
    Dot(Pos),
    Nil(Pos),
    /// `.A.B`
    Field(Pos, Vec<String>),
    /// `(pipe).A.B` or `term.A`
    Chain(Pos, Box<Arg>, Vec<String>),
    Bool(Pos, bool),
    Number(Pos, Number),
    String(Pos, String, Rc<str>),
    Pipe(Pos, Box<Pipe>),
}

impl Arg {
    pub fn pos(&self) -> Pos {
        match self {
            Arg::Identifier(p, _)
            | Arg::Variable(p, _)
            | Arg::Dot(p)
            | Arg::Nil(p)
            | Arg::Field(p, _)
            | Arg::Chain(p, _, _)
            | Arg::Bool(p, _)
            | Arg::Number(p, _)
            | Arg::String(p, _, _)
            | Arg::Pipe(p, _) => *p,
        }
    }
}

/// A number literal as Go's parser reads it: which types it can be.
#[derive(Clone, Debug)]
pub struct Number {
    pub text: String,
    pub int: Option<i64>,
    pub uint: Option<u64>,
    pub float: Option<f64>,
    pub is_complex: bool,
}

/// One parsed template.
#[derive(Clone, Debug)]
pub struct Tree {
    pub name: String,
    /// The name of the template whose text held it (for error positions).
    pub parse_name: String,
    pub root: Vec<Node>,
    /// The whole text it was parsed from (for error columns).
    pub text: Rc<str>,
}

impl Tree {
    /// Go's `parse.IsEmptyTree`: only whitespace text and comments.
    pub fn is_empty(&self) -> bool {
        self.root.iter().all(is_empty_node)
    }
}

fn is_empty_node(n: &Node) -> bool {
    match n {
        Node::Comment(..) => true,
        Node::List(l) => l.iter().all(is_empty_node),
        Node::Text(_, t) => t.trim_matches(|c: char| c.is_ascii_whitespace()).is_empty(),
        _ => false,
    }
}

/// A parse error, worded as Go words it (`template: NAME:LINE: message`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    pub name: String,
    pub line: usize,
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "template: {}:{}: {}", self.name, self.line, self.message)
    }
}

/// Parses `text` (named `name`) into its trees: the template itself and every `define` and
/// `block` in it. `is_function` says which identifiers are functions.
pub fn parse(
    name: &str,
    text: &str,
    is_function: &dyn Fn(&str) -> bool,
    keep_comments: bool,
) -> Result<Vec<Tree>, ParseError> {
    let items = lex(text);
    let text: Rc<str> = text.into();
    let mut p = Parser {
        items,
        i: 0,
        name: name.to_string(),
        vars: vec!["$".into()],
        range_depth: 0,
        action_line: 0,
        is_function,
        keep_comments,
        trees: Vec::new(),
        text: text.clone(),
        last_line: 1,
        depth: 0,
    };
    let root = p.parse_top()?;
    let mut trees = vec![Tree {
        name: name.to_string(),
        parse_name: name.to_string(),
        root,
        text,
    }];
    trees.append(&mut p.trees);
    Ok(trees)
}

struct Parser<'a> {
    items: Vec<Item>,
    i: usize,
    name: String,
    vars: Vec<String>,
    range_depth: usize,
    action_line: usize,
    is_function: &'a dyn Fn(&str) -> bool,
    keep_comments: bool,
    /// Trees made by `define` and `block`, in the order they ended.
    trees: Vec<Tree>,
    text: Rc<str>,
    last_line: usize,
    depth: usize,
}

/// Go's maxStackDepth: nesting of parenthesized pipelines and control structures.
const MAX_DEPTH: usize = 10_000;

type R<T> = Result<T, ParseError>;

fn pos_of(item: &Item) -> Pos {
    Pos {
        offset: item.pos,
        line: item.line,
    }
}

impl Parser<'_> {
    fn next(&mut self) -> Item {
        let item = self.items[self.i.min(self.items.len() - 1)].clone();
        if self.i < self.items.len() {
            self.i += 1;
        }
        self.last_line = item.line;
        item
    }

    fn backup(&mut self) {
        self.i -= 1;
    }

    fn peek(&self) -> &Item {
        &self.items[self.i.min(self.items.len() - 1)]
    }

    fn next_non_space(&mut self) -> Item {
        loop {
            let item = self.next();
            if item.typ != ItemType::Space {
                return item;
            }
        }
    }

    fn peek_non_space(&mut self) -> Item {
        let item = self.next_non_space();
        self.backup();
        item
    }

    fn errorf(&self, message: String) -> ParseError {
        ParseError {
            name: self.name.clone(),
            line: self.last_line,
            message,
        }
    }

    fn unexpected(&self, item: &Item, context: &str) -> ParseError {
        if item.typ == ItemType::Error {
            let mut extra = String::new();
            if self.action_line != 0 && self.action_line != item.line {
                extra = format!(" in action started at {}:{}", self.name, self.action_line);
                if item.val.ends_with(" action") {
                    extra = extra[" in action".len()..].to_string();
                }
            }
            return self.errorf(format!("{item}{extra}"));
        }
        self.errorf(format!("unexpected {item} in {context}"))
    }

    fn expect(&mut self, typ: ItemType, context: &str) -> R<Item> {
        let item = self.next_non_space();
        if item.typ != typ {
            return Err(self.unexpected(&item, context));
        }
        Ok(item)
    }

    fn parse_top(&mut self) -> R<Vec<Node>> {
        let mut root = Vec::new();
        while self.peek().typ != ItemType::Eof {
            if self.peek().typ == ItemType::LeftDelim {
                let mark = self.i;
                self.next();
                if self.next_non_space().typ == ItemType::Define {
                    self.parse_definition()?;
                    continue;
                }
                self.i = mark;
            }
            let n = self.text_or_action()?;
            match n {
                Node::End(_) => return Err(self.errorf("unexpected {{end}}".into())),
                Node::Else(_) => return Err(self.errorf("unexpected {{else}}".into())),
                n => push_node(&mut root, n, self.keep_comments),
            }
        }
        Ok(root)
    }

    fn parse_definition(&mut self) -> R<()> {
        let context = "define clause";
        let item = self.next_non_space();
        if !matches!(item.typ, ItemType::String | ItemType::RawString) {
            return Err(self.unexpected(&item, context));
        }
        let name = unquote(&item.val).map_err(|e| self.errorf(e))?;
        self.expect(ItemType::RightDelim, context)?;
        let saved_vars = std::mem::replace(&mut self.vars, vec!["$".into()]);
        let (list, end) = self.item_list()?;
        self.vars = saved_vars;
        if !matches!(end, Node::End(_)) {
            return Err(self.errorf(format!("unexpected {} in {context}", node_string(&end))));
        }
        self.add_tree(name, list)
    }

    fn add_tree(&mut self, name: String, root: Vec<Node>) -> R<()> {
        let tree = Tree {
            name: name.clone(),
            parse_name: self.name.clone(),
            root,
            text: self.text.clone(),
        };
        if let Some(i) = self.trees.iter().position(|t| t.name == name) {
            if self.trees[i].is_empty() {
                self.trees[i] = tree;
                return Ok(());
            }
            if !tree.is_empty() {
                return Err(self.errorf(format!(
                    "template: multiple definition of template {}",
                    crate::gofmt::quote(&name)
                )));
            }
            return Ok(());
        }
        if name == self.name && !tree.is_empty() {
            // A define of the template's own name: Go checks it against the main tree later.
            self.trees.push(tree);
            return Ok(());
        }
        self.trees.push(tree);
        Ok(())
    }

    fn item_list(&mut self) -> R<(Vec<Node>, Node)> {
        let mut list = Vec::new();
        while self.peek_non_space().typ != ItemType::Eof {
            let n = self.text_or_action()?;
            if matches!(n, Node::End(_) | Node::Else(_)) {
                return Ok((list, n));
            }
            push_node(&mut list, n, self.keep_comments);
        }
        Err(self.errorf("unexpected EOF".into()))
    }

    fn text_or_action(&mut self) -> R<Node> {
        let token = self.next_non_space();
        match token.typ {
            ItemType::Text => Ok(Node::Text(pos_of(&token), token.val.into())),
            ItemType::LeftDelim => {
                self.action_line = token.line;
                let r = self.action();
                self.action_line = 0;
                r
            }
            ItemType::Comment => Ok(Node::Comment(pos_of(&token), token.val)),
            _ => Err(self.unexpected(&token, "input")),
        }
    }

    fn action(&mut self) -> R<Node> {
        let token = self.next_non_space();
        match token.typ {
            ItemType::Block => return self.block_control(),
            ItemType::Break => return self.break_control(&token, true),
            ItemType::Continue => return self.break_control(&token, false),
            ItemType::Else => return self.else_control(),
            ItemType::End => {
                let t = self.expect(ItemType::RightDelim, "end")?;
                return Ok(Node::End(pos_of(&t)));
            }
            ItemType::If => return self.control("if").map(Node::If),
            ItemType::Range => return self.control("range").map(Node::Range),
            ItemType::Template => return self.template_control(),
            ItemType::With => return self.control("with").map(Node::With),
            _ => {}
        }
        self.backup();
        let token = self.peek().clone();
        let pipe = self.pipeline("command", ItemType::RightDelim)?;
        Ok(Node::Action(pos_of(&token), pipe))
    }

    fn break_control(&mut self, token: &Item, is_break: bool) -> R<Node> {
        let word = if is_break { "break" } else { "continue" };
        let next = self.next_non_space();
        if next.typ != ItemType::RightDelim {
            return Err(self.unexpected(&next, &format!("{{{{{word}}}}}")));
        }
        if self.range_depth == 0 {
            return Err(self.errorf(format!("{{{{{word}}}}} outside {{{{range}}}}")));
        }
        Ok(if is_break {
            Node::Break(pos_of(token))
        } else {
            Node::Continue(pos_of(token))
        })
    }

    fn else_control(&mut self) -> R<Node> {
        let peek = self.peek_non_space();
        if matches!(peek.typ, ItemType::If | ItemType::With) {
            return Ok(Node::Else(pos_of(&peek)));
        }
        let token = self.expect(ItemType::RightDelim, "else")?;
        Ok(Node::Else(pos_of(&token)))
    }

    fn control(&mut self, context: &str) -> R<Branch> {
        let nvars = self.vars.len();
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.errorf("max expression depth exceeded".into()));
        }
        let r = crate::grow(|| self.control_inner(context));
        self.depth -= 1;
        self.vars.truncate(nvars);
        r
    }

    fn control_inner(&mut self, context: &str) -> R<Branch> {
        let pipe = self.pipeline(context, ItemType::RightDelim)?;
        if context == "range" {
            self.range_depth += 1;
        }
        let r = self.item_list();
        if context == "range" {
            self.range_depth -= 1;
        }
        let (list, next) = r?;
        let mut else_list = None;
        if let Node::Else(_) = next {
            if context == "if" && self.peek().typ == ItemType::If {
                self.next();
                else_list = Some(vec![Node::If(self.control("if")?)]);
            } else if context == "with" && self.peek().typ == ItemType::With {
                self.next();
                else_list = Some(vec![Node::With(self.control("with")?)]);
            } else {
                let (l, next) = self.item_list()?;
                if !matches!(next, Node::End(_)) {
                    return Err(self.errorf(format!("expected end; found {}", node_string(&next))));
                }
                else_list = Some(l);
            }
        }
        Ok(Branch {
            pos: pipe.pos,
            pipe,
            list,
            else_list,
        })
    }

    fn template_name(&mut self, token: &Item, context: &str) -> R<String> {
        match token.typ {
            ItemType::String | ItemType::RawString => {
                unquote(&token.val).map_err(|e| self.errorf(e))
            }
            _ => Err(self.unexpected(token, context)),
        }
    }

    fn template_control(&mut self) -> R<Node> {
        let context = "template clause";
        let token = self.next_non_space();
        let name = self.template_name(&token, context)?;
        let mut pipe = None;
        if self.next_non_space().typ != ItemType::RightDelim {
            self.backup();
            pipe = Some(self.pipeline(context, ItemType::RightDelim)?);
        }
        Ok(Node::Template(pos_of(&token), name, pipe))
    }

    fn block_control(&mut self) -> R<Node> {
        let context = "block clause";
        let token = self.next_non_space();
        let name = self.template_name(&token, context)?;
        let pipe = self.pipeline(context, ItemType::RightDelim)?;
        let saved_vars = std::mem::replace(&mut self.vars, vec!["$".into()]);
        let saved_depth = std::mem::replace(&mut self.range_depth, 0);
        let r = self.item_list();
        self.vars = saved_vars;
        self.range_depth = saved_depth;
        let (list, end) = r?;
        if !matches!(end, Node::End(_)) {
            return Err(self.errorf(format!("unexpected {} in {context}", node_string(&end))));
        }
        self.add_tree(name.clone(), list)?;
        Ok(Node::Template(pos_of(&token), name, Some(pipe)))
    }

    fn pipeline(&mut self, context: &str, end: ItemType) -> R<Pipe> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.errorf("max expression depth exceeded".into()));
        }
        let r = crate::grow(|| self.pipeline_inner(context, end));
        self.depth -= 1;
        r
    }

    fn pipeline_inner(&mut self, context: &str, end: ItemType) -> R<Pipe> {
        let token = self.peek_non_space();
        let mut pipe = Pipe {
            pos: pos_of(&token),
            is_assign: false,
            decl: Vec::new(),
            cmds: Vec::new(),
        };
        'decls: loop {
            let v = self.peek_non_space();
            if v.typ != ItemType::Variable {
                break;
            }
            let mark = self.i;
            self.next_non_space();
            let next = self.peek_non_space();
            if matches!(next.typ, ItemType::Assign | ItemType::Declare) {
                pipe.is_assign = next.typ == ItemType::Assign;
                self.next_non_space();
                pipe.decl.push(v.val.clone());
                self.vars.push(v.val.clone());
            } else if next.typ == ItemType::Char && next.val == "," {
                self.next_non_space();
                pipe.decl.push(v.val.clone());
                self.vars.push(v.val.clone());
                if context == "range" && pipe.decl.len() < 2 {
                    match self.peek_non_space().typ {
                        ItemType::Variable | ItemType::RightDelim | ItemType::RightParen => {
                            continue 'decls;
                        }
                        _ => return Err(self.errorf("range can only initialize variables".into())),
                    }
                }
                return Err(self.errorf(format!("too many declarations in {context}")));
            } else {
                self.i = mark;
            }
            break;
        }
        loop {
            let token = self.next_non_space();
            match token.typ {
                t if t == end => {
                    if pipe.cmds.is_empty() {
                        return Err(self.errorf(format!("missing value for {context}")));
                    }
                    for (i, c) in pipe.cmds.iter().enumerate().skip(1) {
                        if matches!(
                            c.args[0],
                            Arg::Bool(..)
                                | Arg::Dot(_)
                                | Arg::Nil(_)
                                | Arg::Number(..)
                                | Arg::String(..)
                        ) {
                            return Err(self.errorf(format!(
                                "non executable command in pipeline stage {}",
                                i + 1
                            )));
                        }
                    }
                    return Ok(pipe);
                }
                ItemType::Bool
                | ItemType::CharConstant
                | ItemType::Complex
                | ItemType::Dot
                | ItemType::Field
                | ItemType::Identifier
                | ItemType::Number
                | ItemType::Nil
                | ItemType::RawString
                | ItemType::String
                | ItemType::Variable
                | ItemType::LeftParen => {
                    self.backup();
                    let cmd = self.command()?;
                    pipe.cmds.push(cmd);
                }
                _ => return Err(self.unexpected(&token, context)),
            }
        }
    }

    fn command(&mut self) -> R<Command> {
        let pos = pos_of(&self.peek_non_space());
        let mut cmd = Command {
            pos,
            args: Vec::new(),
        };
        loop {
            self.peek_non_space();
            if let Some(operand) = self.operand()? {
                cmd.args.push(operand);
            }
            let token = self.next();
            match token.typ {
                ItemType::Space => continue,
                ItemType::RightDelim | ItemType::RightParen => self.backup(),
                ItemType::Pipe => {}
                _ => return Err(self.unexpected(&token, "operand")),
            }
            break;
        }
        if cmd.args.is_empty() {
            return Err(self.errorf("empty command".into()));
        }
        Ok(cmd)
    }

    fn operand(&mut self) -> R<Option<Arg>> {
        let Some(node) = self.term()? else {
            return Ok(None);
        };
        if self.peek().typ == ItemType::Field {
            let pos = pos_of(self.peek());
            let mut fields = Vec::new();
            while self.peek().typ == ItemType::Field {
                fields.push(self.next().val[1..].to_string());
            }
            return Ok(Some(match node {
                Arg::Field(_, mut f) => {
                    f.extend(fields);
                    Arg::Field(pos, f)
                }
                Arg::Variable(_, mut v) => {
                    v.extend(fields);
                    Arg::Variable(pos, v)
                }
                Arg::Bool(..) | Arg::String(..) | Arg::Number(..) | Arg::Nil(_) | Arg::Dot(_) => {
                    return Err(self.errorf(format!(
                        "unexpected . after term {}",
                        crate::gofmt::quote(&arg_string(&node))
                    )));
                }
                other => Arg::Chain(pos, Box::new(other), fields),
            }));
        }
        Ok(Some(node))
    }

    fn term(&mut self) -> R<Option<Arg>> {
        let token = self.next_non_space();
        let pos = pos_of(&token);
        Ok(Some(match token.typ {
            ItemType::Identifier => {
                if !(self.is_function)(&token.val) {
                    return Err(self.errorf(format!(
                        "function {} not defined",
                        crate::gofmt::quote(&token.val)
                    )));
                }
                Arg::Identifier(pos, token.val)
            }
            ItemType::Dot => Arg::Dot(pos),
            ItemType::Nil => Arg::Nil(pos),
            ItemType::Variable => {
                let idents: Vec<String> = token.val.split('.').map(str::to_string).collect();
                if !self.vars.iter().any(|v| *v == idents[0]) {
                    return Err(self.errorf(format!(
                        "undefined variable {}",
                        crate::gofmt::quote(&idents[0])
                    )));
                }
                Arg::Variable(pos, idents)
            }
            ItemType::Field => {
                Arg::Field(pos, token.val[1..].split('.').map(str::to_string).collect())
            }
            ItemType::Bool => Arg::Bool(pos, token.val == "true"),
            ItemType::CharConstant | ItemType::Complex | ItemType::Number => Arg::Number(
                pos,
                parse_number(&token.val, token.typ).map_err(|e| self.errorf(e))?,
            ),
            ItemType::LeftParen => Arg::Pipe(
                pos,
                Box::new(self.pipeline("parenthesized pipeline", ItemType::RightParen)?),
            ),
            ItemType::String | ItemType::RawString => {
                let s = unquote(&token.val).map_err(|e| self.errorf(e))?;
                Arg::String(pos, token.val, s.into())
            }
            _ => {
                self.backup();
                return Ok(None);
            }
        }))
    }
}

fn push_node(list: &mut Vec<Node>, n: Node, keep_comments: bool) {
    if matches!(n, Node::Comment(..)) && !keep_comments {
        return;
    }
    list.push(n);
}

/// Go's strconv.Unquote for "..." , `...` and '...' literals.
pub fn unquote(s: &str) -> Result<String, String> {
    let bad = || "invalid syntax".to_string();
    if s.len() < 2 {
        return Err(bad());
    }
    let (q, body) = (s.as_bytes()[0], &s[1..s.len() - 1]);
    if s.as_bytes()[s.len() - 1] != q {
        return Err(bad());
    }
    match q {
        b'`' => {
            if body.contains('`') {
                return Err(bad());
            }
            Ok(body.replace('\r', ""))
        }
        b'"' | b'\'' => {
            let mut out = String::new();
            let mut chars = body.chars().peekable();
            while let Some(c) = chars.next() {
                if c == q as char && q == b'"' {
                    return Err(bad());
                }
                if c == '\n' {
                    return Err(bad());
                }
                if c != '\\' {
                    out.push(c);
                    continue;
                }
                let e = chars.next().ok_or_else(bad)?;
                match e {
                    'a' => out.push('\x07'),
                    'b' => out.push('\x08'),
                    'f' => out.push('\x0c'),
                    'n' => out.push('\n'),
                    'r' => out.push('\r'),
                    't' => out.push('\t'),
                    'v' => out.push('\x0b'),
                    '\\' => out.push('\\'),
                    '\'' if q == b'\'' => out.push('\''),
                    '"' if q == b'"' => out.push('"'),
                    '0'..='7' => {
                        let mut v = e.to_digit(8).unwrap();
                        for _ in 0..2 {
                            let d = chars.next().and_then(|c| c.to_digit(8)).ok_or_else(bad)?;
                            v = v * 8 + d;
                        }
                        if v > 255 {
                            return Err(bad());
                        }
                        // Go's octal escapes are bytes; as text we keep them as chars below 256.
                        out.push(char::from_u32(v).ok_or_else(bad)?);
                    }
                    'x' | 'u' | 'U' => {
                        let n = match e {
                            'x' => 2,
                            'u' => 4,
                            _ => 8,
                        };
                        let mut v = 0u32;
                        for _ in 0..n {
                            let d = chars.next().and_then(|c| c.to_digit(16)).ok_or_else(bad)?;
                            v = v * 16 + d;
                        }
                        out.push(char::from_u32(v).ok_or_else(bad)?);
                    }
                    _ => return Err(bad()),
                }
            }
            if q == b'\'' && out.chars().count() != 1 {
                return Err(bad());
            }
            Ok(out)
        }
        _ => Err(bad()),
    }
}

fn parse_number(text: &str, typ: ItemType) -> Result<Number, String> {
    let mut n = Number {
        text: text.to_string(),
        int: None,
        uint: None,
        float: None,
        is_complex: false,
    };
    if typ == ItemType::CharConstant {
        let s = unquote(text).map_err(|_| format!("malformed character constant: {text}"))?;
        let c = s.chars().next().unwrap() as i64;
        n.int = Some(c);
        n.uint = Some(c as u64);
        n.float = Some(c as f64);
        return Ok(n);
    }
    if typ == ItemType::Complex
        || (text.ends_with('i') && parse_go_float(&text[..text.len() - 1]).is_some())
    {
        n.is_complex = true;
        return Ok(n);
    }
    let clean = text.replace('_', "");
    let (neg, digits) = match clean.strip_prefix('-') {
        Some(d) => (true, d.to_string()),
        None => (false, clean.strip_prefix('+').unwrap_or(&clean).to_string()),
    };
    let lower = digits.to_ascii_lowercase();
    let parsed_uint = if let Some(h) = lower.strip_prefix("0x") {
        u64::from_str_radix(h, 16).ok()
    } else if let Some(o) = lower.strip_prefix("0o") {
        u64::from_str_radix(o, 8).ok()
    } else if let Some(b) = lower.strip_prefix("0b") {
        u64::from_str_radix(b, 2).ok()
    } else if lower.len() > 1 && lower.starts_with('0') && lower.bytes().all(|b| b.is_ascii_digit())
    {
        u64::from_str_radix(&lower[1..], 8).ok()
    } else {
        lower.parse::<u64>().ok()
    };
    if let Some(u) = parsed_uint {
        if !neg {
            n.uint = Some(u);
        }
        if neg {
            if u <= i64::MAX as u64 + 1 {
                n.int = Some((u as i128).wrapping_neg() as i64);
            }
        } else if u <= i64::MAX as u64 {
            n.int = Some(u as i64);
        }
    }
    if let Some(i) = n.int {
        n.float = Some(i as f64);
    } else if let Some(u) = n.uint {
        n.float = Some(u as f64);
    } else {
        let f = parse_go_float(&lower);
        match f {
            Some(f) if f.is_finite() => {
                let f = if neg { -f } else { f };
                n.float = Some(f);
                if f.fract() == 0.0 && f.abs() < 9.2e18 {
                    n.int = Some(f as i64);
                    if f >= 0.0 {
                        n.uint = Some(f as u64);
                    }
                }
            }
            _ => {}
        }
        if n.float.is_none() {
            return Err(format!(
                "illegal number syntax: {}",
                crate::gofmt::quote(text)
            ));
        }
    }
    Ok(n)
}

/// Go's strconv.ParseFloat on an unsigned literal: decimal, or hexadecimal with a `p` exponent.
fn parse_go_float(s: &str) -> Option<f64> {
    let s = s.replace('_', "").to_ascii_lowercase();
    let s = s.strip_prefix('+').unwrap_or(&s);
    let Some(h) = s.strip_prefix("0x") else {
        if s.is_empty() || s.ends_with('e') || s.contains("inf") || s.contains("nan") {
            return None;
        }
        return s.parse::<f64>().ok();
    };
    let (mant, exp) = h.split_once('p')?;
    let exp: i32 = exp.parse().ok()?;
    let (int, frac) = mant.split_once('.').unwrap_or((mant, ""));
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    let mut v = 0f64;
    for c in int.chars() {
        v = v * 16.0 + c.to_digit(16)? as f64;
    }
    let mut scale = 1.0 / 16.0;
    for c in frac.chars() {
        v += c.to_digit(16)? as f64 * scale;
        scale /= 16.0;
    }
    Some(v * 2f64.powi(exp))
}

/// Go's `String()` of a node.
pub fn node_string(n: &Node) -> String {
    let mut s = String::new();
    write_node(&mut s, n);
    s
}

pub fn list_string(list: &[Node]) -> String {
    let mut s = String::new();
    for n in list {
        write_node(&mut s, n);
    }
    s
}

fn write_node(s: &mut String, n: &Node) {
    match n {
        Node::Text(_, t) => s.push_str(t),
        Node::Comment(_, t) => {
            let _ = write!(s, "{{{{{t}}}}}");
        }
        Node::Action(_, p) => {
            s.push_str("{{");
            write_pipe(s, p);
            s.push_str("}}");
        }
        Node::If(b) => write_branch(s, "if", b),
        Node::Range(b) => write_branch(s, "range", b),
        Node::With(b) => write_branch(s, "with", b),
        Node::Template(_, name, pipe) => {
            let _ = write!(s, "{{{{template {}", crate::gofmt::quote(name));
            if let Some(p) = pipe {
                s.push(' ');
                write_pipe(s, p);
            }
            s.push_str("}}");
        }
        Node::Break(_) => s.push_str("{{break}}"),
        Node::Continue(_) => s.push_str("{{continue}}"),
        Node::List(l) => l.iter().for_each(|n| write_node(s, n)),
        Node::End(_) => s.push_str("{{end}}"),
        Node::Else(_) => s.push_str("{{else}}"),
    }
}

fn write_branch(s: &mut String, name: &str, b: &Branch) {
    let _ = write!(s, "{{{{{name} ");
    write_pipe(s, &b.pipe);
    s.push_str("}}");
    b.list.iter().for_each(|n| write_node(s, n));
    if let Some(e) = &b.else_list {
        s.push_str("{{else}}");
        e.iter().for_each(|n| write_node(s, n));
    }
    s.push_str("{{end}}");
}

pub fn pipe_string(p: &Pipe) -> String {
    let mut s = String::new();
    write_pipe(&mut s, p);
    s
}

fn write_pipe(s: &mut String, p: &Pipe) {
    if !p.decl.is_empty() {
        s.push_str(&p.decl.join(", "));
        s.push_str(if p.is_assign { " = " } else { " := " });
    }
    for (i, c) in p.cmds.iter().enumerate() {
        if i > 0 {
            s.push_str(" | ");
        }
        write_command(s, c);
    }
}

pub fn command_string(c: &Command) -> String {
    let mut s = String::new();
    write_command(&mut s, c);
    s
}

fn write_command(s: &mut String, c: &Command) {
    for (i, a) in c.args.iter().enumerate() {
        if i > 0 {
            s.push(' ');
        }
        if let Arg::Pipe(_, p) = a {
            s.push('(');
            write_pipe(s, p);
            s.push(')');
        } else {
            write_arg(s, a);
        }
    }
}

pub fn arg_string(a: &Arg) -> String {
    let mut s = String::new();
    write_arg(&mut s, a);
    s
}

fn write_arg(s: &mut String, a: &Arg) {
    match a {
        Arg::Identifier(_, i) => s.push_str(i),
        Arg::Variable(_, v) => s.push_str(&v.join(".")),
        Arg::Dot(_) => s.push('.'),
        Arg::Nil(_) => s.push_str("nil"),
        Arg::Field(_, f) => f.iter().for_each(|f| {
            s.push('.');
            s.push_str(f);
        }),
        Arg::Chain(_, node, fields) => {
            if let Arg::Pipe(_, p) = node.as_ref() {
                s.push('(');
                write_pipe(s, p);
                s.push(')');
            } else {
                write_arg(s, node);
            }
            for f in fields {
                s.push('.');
                s.push_str(f);
            }
        }
        Arg::Bool(_, b) => s.push_str(if *b { "true" } else { "false" }),
        Arg::Number(_, n) => s.push_str(&n.text),
        Arg::String(_, quoted, _) => s.push_str(quoted),
        Arg::Pipe(_, p) => write_pipe(s, p),
    }
}

/// Trees by name, as one Go template set holds them.
pub type TreeSet = HashMap<String, Rc<Tree>>;
