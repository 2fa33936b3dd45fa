//! YAML text to JSON values with exact source spans.
//!
//! [`parse`] reads a multi-document YAML stream (granit-parser events) into one [`Document`]
//! per document: a `serde_json::Value` built with Kubernetes' YAML 1.1 scalar rules
//! ([`scalar`]), plus a [`SpanTree`] that gives the byte range of every node and of every
//! mapping key, looked up by JSON pointer. Merge keys (`<<`) follow the YAML merge-key spec;
//! duplicate keys are errors. Hostile input is bounded: an alias expansion budget, a nesting
//! limit, and every syntax error becomes a diagnostic for its document while the other
//! documents of the file are still read.
//!
//! This module knows nothing about Kubernetes kinds; `object` decides what a document means.

pub mod emit;
pub mod scalar;

use crate::diag::{Code, Diagnostic, Location};
use crate::source::Span;
use crate::util::str_hash;
use granit_parser::{Event, Parser, ScalarStyle, ScanError, Tag};
use serde_json::{Map, Value};
use std::collections::HashMap;

/// Bounds on what one document may cost, and which YAML dialect it is read in.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Deepest nesting of mappings and sequences.
    pub max_depth: usize,
    /// Most nodes that aliases may add to one document when expanded.
    pub alias_nodes: usize,
    /// YAML 1.1 booleans (`yes`, `on`, `y`...), as kubectl and the API server read YAML. kustomize
    /// reads with go-yaml v3, where only `true`/`false` are booleans; it sets this to false.
    pub yaml_1_1_booleans: bool,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_depth: 128,
            alias_nodes: 250_000,
            yaml_1_1_booleans: true,
        }
    }
}

#[derive(Clone, Copy, Debug, Default)]
struct SpanNode {
    span: Span,
    key: Option<Span>,
    seq: bool,
    first: u32,
    len: u32,
}

#[derive(Clone, Copy, Debug)]
struct Kid {
    hash: u64,
    node: u32,
}

/// The source span of every node of a document, addressed by JSON pointer.
#[derive(Clone, Debug, Default)]
pub struct SpanTree {
    nodes: Vec<SpanNode>,
    kids: Vec<Kid>,
    root: u32,
}

/// The result of a span lookup.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Found {
    /// The span of the node the pointer reached (the deepest existing ancestor if not exact).
    pub value: Span,
    /// The span of its mapping key, when the node is a mapping entry.
    pub key: Option<Span>,
    /// Whether the whole pointer was found; false when only an ancestor was.
    pub exact: bool,
}

impl SpanTree {
    fn child(&self, node: u32, seg: &str) -> Option<u32> {
        let n = &self.nodes[node as usize];
        let kids = &self.kids[n.first as usize..(n.first + n.len) as usize];
        if n.seq {
            let i: usize = seg.parse().ok()?;
            kids.get(i).map(|k| k.node)
        } else {
            let h = str_hash(seg);
            kids.iter().rev().find(|k| k.hash == h).map(|k| k.node)
        }
    }

    /// Looks up a JSON pointer (`/spec/template/spec/containers/0/image`).
    pub fn find(&self, pointer: &str) -> Option<Found> {
        if self.nodes.is_empty() {
            return None;
        }
        let mut node = self.root;
        let mut exact = true;
        if !pointer.is_empty() {
            for raw in pointer.trim_start_matches('/').split('/') {
                let seg: std::borrow::Cow<str> = if raw.contains('~') {
                    raw.replace("~1", "/").replace("~0", "~").into()
                } else {
                    raw.into()
                };
                match self.child(node, &seg) {
                    Some(c) => node = c,
                    None => {
                        exact = false;
                        break;
                    }
                }
            }
        }
        let n = &self.nodes[node as usize];
        Some(Found {
            value: n.span,
            key: n.key,
            exact,
        })
    }

    /// The span of the document's root node.
    pub fn root_span(&self) -> Option<Span> {
        self.nodes.get(self.root as usize).map(|n| n.span)
    }

    /// Span tree of a subtree (for `List` items), sharing nothing with `self`'s lookups above it.
    pub fn subtree(&self, pointer: &str) -> Option<SpanTree> {
        let mut node = self.root;
        for raw in pointer
            .trim_start_matches('/')
            .split('/')
            .filter(|s| !s.is_empty())
        {
            node = self.child(node, raw)?;
        }
        Some(SpanTree {
            nodes: self.nodes.clone(),
            kids: self.kids.clone(),
            root: node,
        })
    }
}

/// One YAML document of a file.
#[derive(Clone, Debug)]
pub struct Document {
    /// Position of the document in its file, from 0 (empty and broken documents count too).
    pub index: u32,
    pub value: Value,
    pub spans: SpanTree,
    /// From the document's first token to its last.
    pub span: Span,
}

/// Everything read from one file.
#[derive(Debug, Default)]
pub struct Parsed {
    pub documents: Vec<Document>,
    pub diagnostics: Vec<Diagnostic>,
}

struct PendingKey {
    name: String,
    span: Span,
    merge: bool,
}

struct MapFrame {
    map: Map<String, Value>,
    node: u32,
    kids: Vec<Kid>,
    key: Option<PendingKey>,
    anchor: usize,
    count: usize,
    merges: Vec<(Map<String, Value>, u32)>,
}

struct SeqFrame {
    items: Vec<Value>,
    node: u32,
    kids: Vec<Kid>,
    anchor: usize,
    count: usize,
}

enum Frame {
    Map(MapFrame),
    Seq(SeqFrame),
}

struct Anchored {
    value: Value,
    node: u32,
    count: usize,
}

/// A problem that ends the current document.
struct Abort(Diagnostic);

struct Builder<'a> {
    text: &'a str,
    limits: Limits,
    locate: &'a dyn Fn(Span) -> Location,
    diags: Vec<Diagnostic>,
    nodes: Vec<SpanNode>,
    kids: Vec<Kid>,
    stack: Vec<Frame>,
    anchors: HashMap<usize, Anchored>,
    alias_nodes: usize,
    root: Option<(Value, u32)>,
    doc_start: u32,
    in_doc: bool,
}

fn to_span(s: &granit_parser::Span) -> Span {
    let start = s.start.byte_offset().unwrap_or(0);
    let end = s.end.byte_offset().unwrap_or(start);
    Span::new(start, end)
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a sequence",
        Value::Object(_) => "a mapping",
    }
}

impl<'a> Builder<'a> {
    fn new(text: &'a str, limits: Limits, locate: &'a dyn Fn(Span) -> Location) -> Builder<'a> {
        Builder {
            text,
            limits,
            locate,
            diags: Vec::new(),
            nodes: Vec::new(),
            kids: Vec::new(),
            stack: Vec::new(),
            anchors: HashMap::new(),
            alias_nodes: 0,
            root: None,
            doc_start: 0,
            in_doc: false,
        }
    }

    fn reset(&mut self) {
        self.nodes.clear();
        self.kids.clear();
        self.stack.clear();
        self.anchors.clear();
        self.alias_nodes = 0;
        self.root = None;
        self.in_doc = false;
    }

    fn expecting_key(&self) -> bool {
        matches!(self.stack.last(), Some(Frame::Map(f)) if f.key.is_none())
    }

    fn pending_key_span(&self) -> Option<Span> {
        match self.stack.last() {
            Some(Frame::Map(f)) => f.key.as_ref().map(|k| k.span),
            _ => None,
        }
    }

    fn new_node(&mut self, span: Span, seq: bool) -> u32 {
        let key = self.pending_key_span();
        self.nodes.push(SpanNode {
            span,
            key,
            seq,
            first: 0,
            len: 0,
        });
        (self.nodes.len() - 1) as u32
    }

    fn scalar_value(
        &mut self,
        s: &str,
        style: ScalarStyle,
        tag: Option<&Tag>,
        span: Span,
    ) -> Value {
        if let Some(tag) = tag {
            return match tag.core_suffix() {
                Some(suffix) => match scalar::resolve_tagged(suffix, s) {
                    Ok(v) => v,
                    Err(None) => {
                        self.diags.push(
                            Diagnostic::new(
                                Code::InvalidTaggedValue,
                                format!("this scalar cannot be read as `!!{suffix}`"),
                            )
                            .at((self.locate)(span), format!("not a valid !!{suffix}")),
                        );
                        Value::String(s.to_string())
                    }
                    Err(Some(_)) => {
                        self.diags.push(self.not_json(s, span));
                        Value::Null
                    }
                },
                // Custom and non-specific tags: go-yaml keeps the text.
                None => Value::String(s.to_string()),
            };
        }
        if style == ScalarStyle::Folded && (s.contains("\n ") || s.contains("\n\t")) {
            // A more-indented line: fold as go-yaml does, from the source. The span starts at
            // the content; the header (`>`) is on the closest non-blank line above it.
            let start = span.start as usize;
            let mut line_start = self.text[..start].rfind('\n').map(|i| i + 1).unwrap_or(0);
            let mut header = None;
            while line_start > 0 {
                let prev_start = self.text[..line_start - 1]
                    .rfind('\n')
                    .map(|i| i + 1)
                    .unwrap_or(0);
                let line = &self.text[prev_start..line_start - 1];
                let code = line.split(" #").next().unwrap_or(line);
                if !code.trim().is_empty() {
                    header = code.rfind('>').map(|i| {
                        (
                            prev_start + i,
                            line.len() - line.trim_start_matches(' ').len(),
                        )
                    });
                    break;
                }
                line_start = prev_start;
            }
            if let Some(v) =
                header.and_then(|(h, parent)| scalar::fold_like_go_yaml(&self.text[h..], parent))
            {
                return Value::String(v);
            }
        }
        if style != ScalarStyle::Plain {
            return Value::String(s.to_string());
        }
        if !self.limits.yaml_1_1_booleans && scalar::is_yaml_1_1_only_boolean(s) {
            return Value::String(s.to_string());
        }
        match scalar::resolve_plain(s) {
            Ok(v) => v,
            Err(_) => {
                self.diags.push(self.not_json(s, span));
                Value::Null
            }
        }
    }

    fn not_json(&self, s: &str, span: Span) -> Diagnostic {
        Diagnostic::new(
            Code::UnsupportedNumber,
            format!("`{s}` is not a number JSON can represent"),
        )
        .at(
            (self.locate)(span),
            "infinity and NaN cannot be sent to the API server",
        )
        .help(format!("quote it (\"{s}\") if a string is meant"))
    }

    fn set_key(&mut self, name: String, span: Span, merge: bool) {
        if let Some(Frame::Map(f)) = self.stack.last_mut() {
            f.key = Some(PendingKey { name, span, merge });
        }
    }

    fn key_from_value(&self, v: &Value, span: Span) -> Result<String, Abort> {
        scalar::key_string(v).ok_or_else(|| {
            Abort(
                Diagnostic::new(
                    Code::InvalidKey,
                    format!("a mapping key cannot be {}", type_name(v)),
                )
                .at((self.locate)(span), "this key")
                .help(
                    "JSON object keys, and so Kubernetes field names, are strings; quote the key",
                ),
            )
        })
    }

    fn finish_node(&mut self, node: u32, end: u32, kids: Vec<Kid>) {
        let first = self.kids.len() as u32;
        let len = kids.len() as u32;
        self.kids.extend(kids);
        let n = &mut self.nodes[node as usize];
        n.first = first;
        n.len = len;
        n.span.end = end.max(n.span.start);
    }

    fn attach(&mut self, value: Value, node: u32, count: usize) {
        match self.stack.last_mut() {
            None => self.root = Some((value, node)),
            Some(Frame::Seq(f)) => {
                f.items.push(value);
                f.kids.push(Kid { hash: 0, node });
                f.count += count;
            }
            Some(Frame::Map(f)) => {
                f.count += count;
                let Some(key) = f.key.take() else { return };
                if key.merge {
                    match value {
                        Value::Object(m) => f.merges.push((m, node)),
                        Value::Array(items) => {
                            let n = self.nodes[node as usize];
                            for (i, item) in items.into_iter().enumerate() {
                                let item_node = self.kids.get(n.first as usize + i).map(|k| k.node).unwrap_or(node);
                                match item {
                                    Value::Object(m) => f.merges.push((m, item_node)),
                                    other => self.diags.push(
                                        Diagnostic::new(
                                            Code::InvalidMerge,
                                            format!("`<<` can only merge mappings, not {}", type_name(&other)),
                                        )
                                        .at((self.locate)(self.nodes[item_node as usize].span), "not a mapping"),
                                    ),
                                }
                            }
                        }
                        other => self.diags.push(
                            Diagnostic::new(
                                Code::InvalidMerge,
                                format!("`<<` can only merge a mapping or a sequence of mappings, not {}", type_name(&other)),
                            )
                            .at((self.locate)(self.nodes[node as usize].span), "not a mapping"),
                        ),
                    }
                    return;
                }
                let hash = str_hash(&key.name);
                if f.map.contains_key(&key.name) {
                    let prev = f
                        .kids
                        .iter()
                        .rev()
                        .find(|k| k.hash == hash)
                        .and_then(|k| self.nodes[k.node as usize].key);
                    let mut d = Diagnostic::new(
                        Code::DuplicateKey,
                        format!("duplicate key `{}`", key.name),
                    )
                    .at((self.locate)(key.span), "defined again here")
                    .help("YAML keys must be unique in a mapping; kubectl refuses this file");
                    if let Some(p) = prev {
                        d = d.related((self.locate)(p), "first defined here");
                    }
                    self.diags.push(d);
                    if let Some(k) = f.kids.iter_mut().rev().find(|k| k.hash == hash) {
                        k.node = node;
                    }
                } else {
                    f.kids.push(Kid { hash, node });
                }
                f.map.insert(key.name, value);
            }
        }
    }

    fn remember_anchor(&mut self, anchor: usize, value: &Value, node: u32, count: usize) {
        if anchor != 0 {
            self.anchors.insert(
                anchor,
                Anchored {
                    value: value.clone(),
                    node,
                    count,
                },
            );
        }
    }

    fn on_event(
        &mut self,
        ev: Event<'_>,
        gspan: &granit_parser::Span,
    ) -> Result<Option<Document>, Abort> {
        let span = to_span(gspan);
        match ev {
            Event::DocumentStart(..) => {
                self.reset();
                self.in_doc = true;
                self.doc_start = span.start;
            }
            Event::DocumentEnd => {
                let root = self.root.take();
                let start = self.doc_start;
                self.in_doc = false;
                if let Some((value, node)) = root.filter(|(v, _)| !v.is_null()) {
                    let spans = SpanTree {
                        nodes: std::mem::take(&mut self.nodes),
                        kids: std::mem::take(&mut self.kids),
                        root: node,
                    };
                    return Ok(Some(Document {
                        index: 0,
                        value,
                        spans,
                        span: Span {
                            start,
                            end: span.end.max(start),
                        },
                    }));
                }
            }
            Event::Scalar(s, style, anchor, tag) => {
                if self.expecting_key() {
                    let merge = style == ScalarStyle::Plain && tag.is_none() && s == "<<";
                    let v = self.scalar_value(&s, style, tag.as_deref(), span);
                    let name = if merge {
                        s.into_owned()
                    } else {
                        self.key_from_value(&v, span)?
                    };
                    self.set_key(name, span, merge);
                    return Ok(None);
                }
                let v = self.scalar_value(&s, style, tag.as_deref(), span);
                let node = self.new_node(span, false);
                self.remember_anchor(anchor, &v, node, 1);
                self.attach(v, node, 1);
            }
            Event::Alias(id) => {
                let Some(a) = self.anchors.get(&id) else {
                    return Err(Abort(
                        Diagnostic::new(
                            Code::YamlSyntax,
                            "an alias refers to its own anchor before the anchored node ends",
                        )
                        .at((self.locate)(span), "recursive alias"),
                    ));
                };
                let (value, anchor_node, count) = (a.value.clone(), a.node, a.count);
                self.alias_nodes += count;
                if self.alias_nodes > self.limits.alias_nodes {
                    return Err(Abort(
                        Diagnostic::new(
                            Code::AliasLimit,
                            format!(
                                "expanding aliases would add more than {} nodes to this document",
                                self.limits.alias_nodes
                            ),
                        )
                        .at((self.locate)(span), "this alias goes over the budget")
                        .help("this looks like an alias bomb (\"billion laughs\"); the document was not read"),
                    ));
                }
                if self.expecting_key() {
                    let name = self.key_from_value(&value, span)?;
                    self.set_key(name, span, false);
                    return Ok(None);
                }
                let key = self.pending_key_span();
                let a = self.nodes[anchor_node as usize];
                self.nodes.push(SpanNode {
                    span,
                    key,
                    seq: a.seq,
                    first: a.first,
                    len: a.len,
                });
                let node = (self.nodes.len() - 1) as u32;
                self.attach(value, node, count);
            }
            Event::MappingStart(_, anchor, _) | Event::SequenceStart(_, anchor, _) => {
                let is_map = matches!(ev, Event::MappingStart(..));
                if self.expecting_key() {
                    if self
                        .text
                        .get(span.start as usize..)
                        .is_some_and(|t| t.starts_with("{{"))
                    {
                        return Err(Abort(
                            Diagnostic::new(
                                Code::YamlSyntax,
                                "`{{ ... }}` is template syntax, not YAML",
                            )
                            .at((self.locate)(span), "a template expression")
                            .help("render the template (Helm, gomplate, ...) and check its output"),
                        ));
                    }
                    return Err(Abort(
                        Diagnostic::new(
                            Code::InvalidKey,
                            "a mapping key cannot be a mapping or a sequence",
                        )
                        .at((self.locate)(span), "complex key")
                        .help("JSON object keys, and so Kubernetes field names, are strings"),
                    ));
                }
                if self.stack.len() >= self.limits.max_depth {
                    return Err(Abort(
                        Diagnostic::new(
                            Code::NestingLimit,
                            format!(
                                "this document nests deeper than {} levels",
                                self.limits.max_depth
                            ),
                        )
                        .at((self.locate)(span), "too deep here")
                        .help("real Kubernetes objects nest far less; the document was not read"),
                    ));
                }
                let node = self.new_node(span, !is_map);
                self.stack.push(if is_map {
                    Frame::Map(MapFrame {
                        map: Map::new(),
                        node,
                        kids: Vec::new(),
                        key: None,
                        anchor,
                        count: 1,
                        merges: Vec::new(),
                    })
                } else {
                    Frame::Seq(SeqFrame {
                        items: Vec::new(),
                        node,
                        kids: Vec::new(),
                        anchor,
                        count: 1,
                    })
                });
            }
            Event::MappingEnd => {
                let Some(Frame::Map(mut f)) = self.stack.pop() else {
                    return Ok(None);
                };
                for (merged, mnode) in std::mem::take(&mut f.merges) {
                    let mn = self.nodes[mnode as usize];
                    for (k, v) in merged {
                        if f.map.contains_key(&k) {
                            continue;
                        }
                        let hash = str_hash(&k);
                        let kid_node = self.kids[mn.first as usize..(mn.first + mn.len) as usize]
                            .iter()
                            .rev()
                            .find(|kid| kid.hash == hash)
                            .map(|kid| kid.node)
                            .unwrap_or(mnode);
                        f.kids.push(Kid {
                            hash,
                            node: kid_node,
                        });
                        f.map.insert(k, v);
                    }
                }
                self.finish_node(f.node, span.end, f.kids);
                let value = Value::Object(f.map);
                self.remember_anchor(f.anchor, &value, f.node, f.count);
                self.attach(value, f.node, f.count);
            }
            Event::SequenceEnd => {
                let Some(Frame::Seq(f)) = self.stack.pop() else {
                    return Ok(None);
                };
                self.finish_node(f.node, span.end, f.kids);
                let value = Value::Array(f.items);
                self.remember_anchor(f.anchor, &value, f.node, f.count);
                self.attach(value, f.node, f.count);
            }
            _ => {}
        }
        Ok(None)
    }
}

fn scan_error(
    e: &ScanError,
    text: &str,
    limits: &Limits,
    locate: &dyn Fn(Span) -> Location,
) -> Diagnostic {
    let m = e.marker();
    let offset = m.byte_offset().unwrap_or_else(|| {
        text.char_indices()
            .nth(m.index())
            .map(|(i, _)| i)
            .unwrap_or(text.len())
    });
    let offset = offset.min(text.len());
    let end = text[offset..]
        .chars()
        .next()
        .map(|c| offset + c.len_utf8())
        .unwrap_or(offset);
    let mut info = e.info();
    if info.is_empty() {
        info = "invalid YAML".to_string();
    }
    if matches!(e.kind(), granit_parser::ErrorKind::RecursionLimitExceeded) {
        return Diagnostic::new(
            Code::NestingLimit,
            format!(
                "this document nests deeper than {} levels",
                limits.max_depth
            ),
        )
        .at(locate(Span::new(offset, end)), "too deep here")
        .help("real Kubernetes objects nest far less; the document was not read");
    }
    let mut d = Diagnostic::new(Code::YamlSyntax, format!("YAML syntax error: {info}"))
        .at(locate(Span::new(offset, end)), info);
    // The line of the error, and the one before it, for the commonest human mistakes.
    let line_start = text[..offset].rfind('\n').map(|i| i + 1).unwrap_or(0);
    let prev_start = text[..line_start.saturating_sub(1)]
        .rfind('\n')
        .map(|i| i + 1)
        .unwrap_or(0);
    let near = &text[prev_start
        ..text[offset..]
            .find('\n')
            .map(|i| offset + i)
            .unwrap_or(text.len())];
    if near
        .lines()
        .any(|l| l.trim_start_matches(' ').starts_with('\t'))
    {
        d = d.help("YAML does not allow tabs for indentation; indent with spaces");
    } else if near.contains("{{") {
        d = d.help("this looks like a template (`{{ ... }}`); render it and check its output");
    }
    d
}

/// Parses a YAML stream. `locate` turns spans into diagnostic locations for this file.
pub fn parse(text: &str, limits: &Limits, locate: &dyn Fn(Span) -> Location) -> Parsed {
    let opts = granit_parser::options! {
        block_nesting_limit: limits.max_depth,
        flow_nesting_limit: limits.max_depth,
        // As libyaml and the go-yaml readers Kubernetes uses.
        block_scalar_eof_without_line_feed: true,
    };
    let mut parser = Parser::new_from_str_with_options(text, opts);
    let mut b = Builder::new(text, *limits, locate);
    let mut documents = Vec::new();
    let mut empties: Vec<(u32, Span)> = Vec::new();
    let mut index: u32 = 0;
    let mut errors = 0usize;
    loop {
        let abort = match parser.next_event() {
            None => break,
            Some(Err(e)) => Some(scan_error(&e, text, limits, locate)),
            Some(Ok((ev, span))) => {
                let is_end = matches!(ev, Event::DocumentEnd);
                let is_start = matches!(ev, Event::DocumentStart(..));
                let start_span = to_span(&span);
                match b.on_event(ev, &span) {
                    Ok(Some(mut doc)) => {
                        doc.index = index;
                        index += 1;
                        documents.push(doc);
                        None
                    }
                    Ok(None) => {
                        if is_end {
                            empties.push((
                                index,
                                Span::new(b.doc_start as usize, start_span.end as usize),
                            ));
                            index += 1;
                        }
                        let _ = is_start;
                        None
                    }
                    Err(Abort(d)) => Some(d),
                }
            }
        };
        if let Some(d) = abort {
            errors += 1;
            b.diags.push(d);
            b.reset();
            index += 1;
            match parser.proceed_next_document() {
                Ok(true) => continue,
                _ => break,
            }
        }
    }
    let mut diagnostics = b.diags;
    // An empty document is worth a note only when real documents follow it: a trailing or
    // leading `---` is ordinary.
    let last_doc = documents.last().map(|d| d.index);
    for (i, span) in empties {
        if last_doc.is_some_and(|l| i < l) && documents.first().is_some_and(|d| d.index < i) {
            diagnostics.push(
                Diagnostic::new(
                    Code::EmptyDocument,
                    "empty document between two `---` separators",
                )
                .at(
                    locate(Span::new(span.start as usize, span.start as usize + 3)),
                    "nothing in this document",
                ),
            );
        }
    }
    if documents.is_empty() && errors == 0 {
        diagnostics.push(
            Diagnostic::new(Code::EmptyFile, "this YAML file has no documents")
                .at(locate(Span::new(0, 0)), ""),
        );
    }
    Parsed {
        documents,
        diagnostics,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn locate(s: Span) -> Location {
        Location {
            path: "t.yaml".into(),
            range: Some(crate::diag::TextRange {
                start: s.start as usize,
                end: s.end as usize,
                line: 0,
                column: 0,
                end_line: 0,
                end_column: 0,
            }),
        }
    }

    fn p(text: &str) -> Parsed {
        parse(text, &Limits::default(), &locate)
    }

    fn codes(parsed: &Parsed) -> Vec<&'static str> {
        parsed.diagnostics.iter().map(|d| d.code.as_str()).collect()
    }

    fn slice(text: &str, s: Span) -> &str {
        &text[s.start as usize..s.end as usize]
    }

    #[test]
    fn values_and_spans() {
        let text = "apiVersion: v1\nkind: ConfigMap\ndata:\n  mode: 0644\n  flag: yes\n  list:\n    - a\n    - \"b\"\n";
        let parsed = p(text);
        assert!(parsed.diagnostics.is_empty(), "{:?}", parsed.diagnostics);
        let doc = &parsed.documents[0];
        assert_eq!(
            doc.value,
            json!({"apiVersion": "v1", "kind": "ConfigMap", "data": {"mode": 420, "flag": true, "list": ["a", "b"]}})
        );
        let f = doc.spans.find("/data/mode").unwrap();
        assert!(f.exact);
        assert_eq!(slice(text, f.value), "0644");
        assert_eq!(slice(text, f.key.unwrap()), "mode");
        assert_eq!(
            slice(text, doc.spans.find("/data/list/1").unwrap().value),
            "\"b\""
        );
        let missing = doc.spans.find("/data/nope/deeper").unwrap();
        assert!(!missing.exact);
        assert_eq!(slice(text, missing.key.unwrap()), "data");
    }

    #[test]
    fn multi_document_streams_keep_indexes() {
        let parsed = p("a: 1\n---\n---\nb: 2\n---\n");
        assert_eq!(parsed.documents.len(), 2);
        assert_eq!(parsed.documents[0].index, 0);
        assert_eq!(parsed.documents[1].index, 2);
        assert_eq!(codes(&parsed), ["empty-document"]);
    }

    #[test]
    fn duplicate_keys_are_errors_with_both_places() {
        let text = "a: 1\nb: 2\na: 3\n";
        let parsed = p(text);
        assert_eq!(codes(&parsed), ["duplicate-key"]);
        let d = &parsed.diagnostics[0];
        assert_eq!(
            d.primary.as_ref().unwrap().location.range.unwrap().start,
            10
        );
        assert_eq!(d.related[0].location.range.unwrap().start, 0);
        assert_eq!(parsed.documents[0].value, json!({"a": 3, "b": 2}));
    }

    #[test]
    fn merge_keys_follow_the_spec() {
        let text = "base: &b {x: 1, w: 2}\nother: &o {w: 9, z: 3}\nm:\n  <<: [*b, *o]\n  x: 10\n";
        let parsed = p(text);
        assert!(parsed.diagnostics.is_empty(), "{:?}", parsed.diagnostics);
        assert_eq!(
            parsed.documents[0].value["m"],
            json!({"x": 10, "w": 2, "z": 3})
        );
        // A merged entry's span points at its definition.
        let f = parsed.documents[0].spans.find("/m/z").unwrap();
        assert_eq!(slice(text, f.value), "3");
        let bad = p("a:\n  <<: 5\n");
        assert_eq!(codes(&bad), ["invalid-merge"]);
    }

    #[test]
    fn alias_bombs_are_stopped() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..9 {
            let prev = format!("*a{}", i - 1);
            text.push_str(&format!(
                "a{i}: &a{i} [{}]\n",
                [prev.as_str(); 10].join(", ")
            ));
        }
        text.push_str("---\nok: true\n");
        let parsed = p(&text);
        assert_eq!(codes(&parsed), ["alias-limit"]);
        assert_eq!(parsed.documents.len(), 1);
        assert_eq!(parsed.documents[0].value, json!({"ok": true}));
    }

    #[test]
    fn deep_nesting_is_refused_without_overflow() {
        let text = format!("{}{}", "[".repeat(20_000), "]".repeat(20_000));
        let parsed = p(&text);
        assert_eq!(codes(&parsed), ["nesting-limit"]);
        let block: String = (0..5_000)
            .map(|i| format!("{}k{i}:\n", " ".repeat(i)))
            .collect();
        let parsed = p(&block);
        assert_eq!(codes(&parsed), ["nesting-limit"]);
    }

    #[test]
    fn syntax_errors_do_not_stop_other_documents() {
        let parsed = p("a: [1, 2\n---\nb: 2\n");
        assert_eq!(codes(&parsed), ["yaml-syntax"]);
        assert_eq!(parsed.documents.len(), 1);
        assert_eq!(parsed.documents[0].value, json!({"b": 2}));
    }

    #[test]
    fn tabs_get_a_hint() {
        let parsed = p("a:\n\tb: 1\n");
        assert_eq!(codes(&parsed), ["yaml-syntax"]);
        assert!(
            parsed.diagnostics[0]
                .help
                .as_deref()
                .unwrap()
                .contains("tabs")
        );
    }

    #[test]
    fn keys_and_tags() {
        let parsed = p("on: push\n1: one\n? [a]\n: b\n");
        assert_eq!(codes(&parsed), ["invalid-key"]);
        let parsed = p("a: !!str 0644\nb: !!int \"12\"\nc: !!int x\nd: !custom text\ne: .inf\n");
        assert_eq!(
            codes(&parsed),
            ["invalid-tagged-value", "unsupported-number"]
        );
        assert_eq!(
            parsed.documents[0].value,
            json!({"a": "0644", "b": 12, "c": "x", "d": "text", "e": null})
        );
        let parsed = p("on: push\n1: one\n");
        assert_eq!(
            parsed.documents[0].value,
            json!({"true": "push", "1": "one"})
        );
    }

    #[test]
    fn empty_and_comment_only_files() {
        assert_eq!(codes(&p("")), ["empty-file"]);
        assert_eq!(codes(&p("# only a comment\n")), ["empty-file"]);
        assert_eq!(codes(&p("---\n")), ["empty-file"]);
    }
}
