//! netc's automatic layer names in Python: a layer's name is its callee and a counter of that
//! callee's calls in its scope (`conv3`), and `repeat` unrolls its body, so inside a loop (or
//! after one with a count that is a parameter) the counter is a Python expression over loop
//! variables and parameters: `f"conv{2 + i}"`.

use std::collections::HashMap;

/// One term of a count, written for the constructor and for `forward` (where parameters are
/// read from `self`).
#[derive(Clone, Debug, PartialEq)]
struct Term {
    coef: i64,
    init: String,
    forward: String,
}

/// A count: a constant plus terms, each an integer-valued Python expression.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Count {
    konst: i64,
    terms: Vec<Term>,
}

/// Where a Python expression goes: the constructor (parameters are locals) or `forward`
/// (parameters are attributes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Place {
    Init,
    Forward,
}

impl Count {
    pub fn constant(konst: i64) -> Count {
        Count { konst, terms: Vec::new() }
    }

    /// An expression, as written in each place; a constant if it is an int literal.
    pub fn expr(init: &str, forward: &str) -> Count {
        match init.parse::<i64>() {
            Ok(k) => Count::constant(k),
            Err(_) => Count { konst: 0, terms: vec![Term { coef: 1, init: init.into(), forward: forward.into() }] },
        }
    }

    pub fn as_constant(&self) -> Option<i64> {
        self.terms.is_empty().then_some(self.konst)
    }

    pub fn add(&self, other: &Count) -> Count {
        let mut terms = self.terms.clone();
        for t in &other.terms {
            match terms.iter_mut().find(|u| u.init == t.init && u.forward == t.forward) {
                Some(u) => u.coef += t.coef,
                None => terms.push(t.clone()),
            }
        }
        terms.retain(|t| t.coef != 0);
        Count { konst: self.konst + other.konst, terms }
    }

    pub fn mul(&self, other: &Count) -> Count {
        let scaled = |c: &Count, k: i64| Count {
            konst: c.konst * k,
            terms: c.terms.iter().filter(|_| k != 0).map(|t| Term { coef: t.coef * k, ..t.clone() }).collect(),
        };
        match (self.as_constant(), other.as_constant()) {
            (Some(k), _) => scaled(other, k),
            (_, Some(k)) => scaled(self, k),
            _ => {
                let product = |p: Place| format!("({}) * ({})", self.render(p), other.render(p));
                Count::expr(&product(Place::Init), &product(Place::Forward))
            }
        }
    }

    /// The count as a Python expression: `2 + i`, `3 * convs`.
    pub fn render(&self, place: Place) -> String {
        let mut parts: Vec<String> = Vec::new();
        if self.konst != 0 || self.terms.is_empty() {
            parts.push(self.konst.to_string());
        }
        for t in &self.terms {
            let e = if place == Place::Init { &t.init } else { &t.forward };
            parts.push(if t.coef == 1 { e.clone() } else { format!("{} * {e}", t.coef) });
        }
        parts.join(" + ")
    }
}

/// A layer's name in its scope: fixed (`conv3`, a label) or, in a loop, a Python f-string.
#[derive(Clone, Debug, PartialEq)]
pub enum Name {
    Fixed(String),
    Counted { prefix: String, count: Count },
}

impl Name {
    /// The layer as an attribute of `owner`, to read it: `self.conv1`,
    /// `getattr(self, f"conv{1 + i}")`.
    pub fn get(&self, owner: &str, place: Place) -> String {
        match self {
            Name::Fixed(n) => format!("{owner}.{n}"),
            Name::Counted { .. } => format!("getattr({owner}, {})", self.fstring(place)),
        }
    }

    /// The statement that makes `value` the layer, an attribute of `owner`.
    pub fn set(&self, owner: &str, value: &str) -> String {
        match self {
            Name::Fixed(n) => format!("{owner}.{n} = {value}"),
            Name::Counted { .. } => format!("setattr({owner}, {}, {value})", self.fstring(Place::Init)),
        }
    }

    fn fstring(&self, place: Place) -> String {
        match self {
            Name::Fixed(n) => format!("\"{n}\""),
            Name::Counted { prefix, count } => format!("f\"{prefix}{{{}}}\"", count.render(place)),
        }
    }
}

/// The counters of one scope (a block instance, the top level, a shortcut).
#[derive(Clone, Debug, Default)]
pub struct Counters {
    counts: HashMap<String, Count>,
}

impl Counters {
    /// The name of `callee`'s next unlabelled call, as netc's lowering names it: `conv1`,
    /// `relu6_1` (an `_` when the callee ends in a digit).
    pub fn next(&mut self, callee: &str) -> Name {
        let count = self.counts.entry(callee.to_string()).or_default();
        *count = count.add(&Count::constant(1));
        let sep = if callee.ends_with(|c: char| c.is_ascii_digit()) { "_" } else { "" };
        let prefix = format!("{callee}{sep}");
        match count.as_constant() {
            Some(k) => Name::Fixed(format!("{prefix}{k}")),
            None => Name::Counted { prefix, count: count.clone() },
        }
    }

    pub fn get(&self, callee: &str) -> Count {
        self.counts.get(callee).cloned().unwrap_or_default()
    }

    pub fn set(&mut self, callee: &str, count: Count) {
        self.counts.insert(callee.to_string(), count);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_fold_constants_and_keep_parameters() {
        let convs = Count::expr("convs", "self.convs");
        let i = Count::expr("i", "i");
        let base = Count::constant(1).add(&convs.mul(&Count::constant(2)));
        assert_eq!(base.add(&i).render(Place::Init), "1 + 2 * convs + i");
        assert_eq!(base.render(Place::Forward), "1 + 2 * self.convs");
        assert_eq!(Count::constant(3).mul(&Count::constant(2)).as_constant(), Some(6));
        assert_eq!(convs.mul(&i).render(Place::Init), "(convs) * (i)");
    }

    #[test]
    fn names_count_per_callee_as_netc_does() {
        let mut c = Counters::default();
        assert_eq!(c.next("conv"), Name::Fixed("conv1".into()));
        assert_eq!(c.next("relu6"), Name::Fixed("relu6_1".into()));
        c.set("conv", c.get("conv").add(&Count::expr("n", "self.n")));
        let name = c.next("conv");
        assert_eq!(name.get("self", Place::Forward), "getattr(self, f\"conv{2 + self.n}\")");
        assert_eq!(name.set("self", "Conv(8)"), "setattr(self, f\"conv{2 + n}\", Conv(8))");
    }
}
