//! The simulated cluster's storage: each object shared behind an `Arc` and copied only when a
//! write changes it while an older version is still held, found by hashing its key, with the
//! keys also kept in order so that lists and kinds come out sorted. The hash map's own order is
//! never seen, so results stay deterministic.
//!
//! It does not index by uid or owner, wake controllers, or keep the journal: `SimCluster` does,
//! around every `insert` and `remove`.

use super::ssa::Managed;
use crate::object::ObjectKey;
use serde_json::Value;
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

/// A stored object. The object is shared: reads, lists, watches and snapshots take a
/// reference, and a write copies it only while someone else still holds the old version.
#[derive(Clone, Debug)]
pub struct Stored {
    pub object: Arc<Value>,
    pub managed: Vec<Managed>,
    /// `managed` as the API shows it, made on the first read after a write (reset it when
    /// `managed` changes).
    pub managed_json: std::cell::OnceCell<Value>,
}

impl Stored {
    /// The object to change in place (copied first when an older version is still held).
    pub fn object_mut(&mut self) -> &mut Value {
        Arc::make_mut(&mut self.object)
    }
}

/// The stored objects: hashed by key for the reads and writes every request and controller
/// makes, with the keys also kept in order for lists and kinds (`range`, `iter`). The hash
/// map's own order is never seen, so results stay deterministic.
#[derive(Default)]
pub(crate) struct Store {
    objects: HashMap<ObjectKey, Stored>,
    order: BTreeSet<ObjectKey>,
}

impl Store {
    pub(crate) fn get(&self, key: &ObjectKey) -> Option<&Stored> {
        self.objects.get(key)
    }

    pub(crate) fn get_mut(&mut self, key: &ObjectKey) -> Option<&mut Stored> {
        self.objects.get_mut(key)
    }

    pub(crate) fn contains_key(&self, key: &ObjectKey) -> bool {
        self.objects.contains_key(key)
    }

    pub(crate) fn insert(&mut self, key: ObjectKey, stored: Stored) -> Option<Stored> {
        match self.objects.get_mut(&key) {
            Some(old) => Some(std::mem::replace(old, stored)),
            None => {
                self.order.insert(key.clone());
                self.objects.insert(key, stored)
            }
        }
    }

    pub(crate) fn remove(&mut self, key: &ObjectKey) -> Option<Stored> {
        let stored = self.objects.remove(key)?;
        self.order.remove(key);
        Some(stored)
    }

    /// Objects from `start` on, in key order.
    pub(crate) fn range(&self, start: ObjectKey) -> impl Iterator<Item = (&ObjectKey, &Stored)> {
        self.order
            .range(start..)
            .filter_map(|k| self.objects.get(k).map(|s| (k, s)))
    }

    /// Every object, in key order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&ObjectKey, &Stored)> {
        self.order
            .iter()
            .filter_map(|k| self.objects.get(k).map(|s| (k, s)))
    }

    pub(crate) fn keys(&self) -> impl Iterator<Item = &ObjectKey> {
        self.order.iter()
    }

    pub(crate) fn values_mut(&mut self) -> impl Iterator<Item = &mut Stored> {
        self.objects.values_mut()
    }
}
