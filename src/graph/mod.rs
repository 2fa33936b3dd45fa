//! Ordering of objects. For now: the peers' documented orderings ([`order`]).

pub mod order;
