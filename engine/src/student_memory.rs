//! What the server keeps in memory per student (a lab's cache, its
//! statistics, its limiters), within a total budget: each student's value
//! has a cost in bytes, and when the total passes the budget the least
//! recently active students' values are dropped first. A class of 300 and
//! a crowd of 10,000 cost the same at most; an active student never loses
//! their state to an idle one.

use std::collections::HashMap;

/// Per-student values within a total cost. Not synchronised: keep it
/// behind the owner's lock.
pub struct StudentMemory<V> {
    budget: usize,
    tick: u64,
    used: usize,
    kept: HashMap<String, Kept<V>>,
}

struct Kept<V> {
    value: V,
    cost: usize,
    last_active: u64,
}

impl<V> StudentMemory<V> {
    /// Nothing kept yet; at most about `budget` bytes in all.
    pub fn new(budget: usize) -> Self {
        Self {
            budget,
            tick: 0,
            used: 0,
            kept: HashMap::new(),
        }
    }

    /// `student`'s value, made with `make` if there is none, marked active.
    pub fn entry(&mut self, student: &str, make: impl FnOnce() -> V) -> &mut V {
        self.tick += 1;
        let tick = self.tick;
        let kept = self
            .kept
            .entry(student.to_string())
            .or_insert_with(|| Kept {
                value: make(),
                cost: 0,
                last_active: tick,
            });
        kept.last_active = tick;
        &mut kept.value
    }

    /// `student`'s value, if kept (reading does not count as activity).
    pub fn get(&self, student: &str) -> Option<&V> {
        self.kept.get(student).map(|k| &k.value)
    }

    /// Records what `student`'s value costs now, then drops the least
    /// recently active other students' values until the total fits.
    pub fn set_cost(&mut self, student: &str, cost: usize) {
        let Some(kept) = self.kept.get_mut(student) else {
            return;
        };
        self.used = self.used - kept.cost + cost;
        kept.cost = cost;
        while self.used > self.budget {
            let idle = self
                .kept
                .iter()
                .filter(|(id, _)| id.as_str() != student)
                .min_by_key(|(_, k)| k.last_active)
                .map(|(id, _)| id.clone());
            match idle {
                Some(idle) => {
                    self.remove(&idle);
                }
                None => break,
            }
        }
    }

    /// Forgets `student`'s value.
    pub fn remove(&mut self, student: &str) -> Option<V> {
        let kept = self.kept.remove(student)?;
        self.used -= kept.cost;
        Some(kept.value)
    }

    /// The total cost of what is kept.
    pub fn used(&self) -> usize {
        self.used
    }

    /// Students with a value kept.
    pub fn len(&self) -> usize {
        self.kept.len()
    }

    /// Whether nothing is kept.
    pub fn is_empty(&self) -> bool {
        self.kept.is_empty()
    }

    /// Every kept value.
    pub fn values(&self) -> impl Iterator<Item = &V> {
        self.kept.values().map(|k| &k.value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_least_recently_active_go_first_and_the_active_one_stays() {
        let mut memory = StudentMemory::new(300);
        for student in ["ada", "bob", "cy"] {
            memory.entry(student, || 0u32);
            memory.set_cost(student, 100);
        }
        assert_eq!(memory.used(), 300);
        memory.entry("ada", || 0); // Ada is active again.
        memory.entry("dee", || 0);
        memory.set_cost("dee", 100);
        assert!(memory.get("bob").is_none(), "Bob was idle longest");
        assert!(memory.get("ada").is_some() && memory.get("cy").is_some());
        assert_eq!(memory.used(), 300);
        // One student alone over the budget keeps their value: nobody else is left to drop.
        memory.entry("eve", || 0);
        memory.set_cost("eve", 1_000);
        assert_eq!(memory.len(), 1);
        assert!(memory.get("eve").is_some());
        assert_eq!(memory.remove("eve"), Some(0));
        assert_eq!(memory.used(), 0);
    }
}
