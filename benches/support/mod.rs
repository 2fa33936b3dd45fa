//! What the benchmarks share: a heap counter (bytes in use and their peak, to report the
//! memory a stage takes) and a constructor of generated objects.

#![allow(dead_code)]

pub mod synth;

use kiln::object::{Object, ObjectKey, Origin};
use kiln::source::FileId;
use mimalloc::MiMalloc;
use serde_json::{Value, json};
use std::alloc::{GlobalAlloc, Layout};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Counts heap bytes in use and their peak, to report the memory the graph takes. It counts
/// over the allocator kiln's binary uses (mimalloc), so the figures are the command's.
pub struct Counting;

pub static IN_USE: AtomicUsize = AtomicUsize::new(0);
pub static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { MiMalloc.alloc(layout) };
        if !p.is_null() {
            let now = IN_USE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { MiMalloc.dealloc(ptr, layout) };
        IN_USE.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { MiMalloc.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            IN_USE.fetch_sub(layout.size(), Ordering::Relaxed);
            let now = IN_USE.fetch_add(new_size, Ordering::Relaxed) + new_size;
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

pub fn mib(bytes: usize) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

pub fn object(
    api_version: &str,
    kind: &str,
    namespace: &str,
    name: &str,
    mut value: Value,
) -> Object {
    let group = api_version
        .rsplit_once('/')
        .map(|(g, _)| g.to_string())
        .unwrap_or_default();
    value["apiVersion"] = json!(api_version);
    value["kind"] = json!(kind);
    value["metadata"]["name"] = json!(name);
    if !namespace.is_empty() {
        value["metadata"]["namespace"] = json!(namespace);
    }
    Object {
        key: ObjectKey {
            group,
            kind: kind.into(),
            namespace: namespace.into(),
            name: name.into(),
        },
        api_version: api_version.into(),
        value,
        origin: Origin {
            file: FileId(0),
            document: 0,
            pointer: String::new(),
        },
    }
}
