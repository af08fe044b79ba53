//! The round-robin wheel (Kong's `balancer/round_robin.lua`): each target
//! holds `weight / gcd` slots, so one turn of the wheel gives every target
//! exactly its share. Kong shuffles the slots at random; here they are
//! interleaved by stride (slot `k` of a target with `p` slots sits at
//! `(k + ½) / p` of the turn), which gives the same shares per turn, spreads
//! a heavy target's slots evenly, and keeps tables free of randomness.

use crate::model::Target;
use std::cmp::Ordering;

/// Most slots a wheel holds; weights whose reduced sum is larger are
/// scaled down to fit (shares then match to within one slot in this many).
const MAX_SLOTS: u64 = 1 << 20;

/// Target indices in turn order; targets of weight 0 hold no slot.
#[derive(Debug, Default)]
pub(super) struct Wheel {
    slots: Vec<u32>,
}

impl Wheel {
    /// The wheel of `targets`, by weight.
    pub(super) fn new(targets: &[Target]) -> Self {
        let points = points(targets);
        let mut slots: Vec<(u64, u64, u32)> = Vec::new();
        for (index, p) in points.iter().enumerate() {
            slots.extend((0..*p).map(|k| (2 * k + 1, 2 * p, index as u32)));
        }
        // (2k+1)/(2p) compared exactly: cross-multiplied, at most 2^42.
        slots.sort_by(|a, b| match (a.0 * b.1).cmp(&(b.0 * a.1)) {
            Ordering::Equal => a.2.cmp(&b.2),
            other => other,
        });
        Self {
            slots: slots.into_iter().map(|(_, _, index)| index).collect(),
        }
    }

    /// Number of slots in one turn.
    pub(super) fn len(&self) -> usize {
        self.slots.len()
    }

    /// The target of slot `n` (taken modulo the turn), then the following
    /// slots' targets, one turn in all.
    pub(super) fn from(&self, n: usize) -> impl Iterator<Item = usize> + '_ {
        let len = self.slots.len().max(1);
        (0..self.slots.len()).map(move |k| self.slots[(n + k) % len] as usize)
    }
}

/// Slots per target: weights divided by their greatest common divisor,
/// scaled down when the turn would pass [`MAX_SLOTS`].
fn points(targets: &[Target]) -> Vec<u64> {
    let divisor = targets.iter().fold(0, |g, t| gcd(g, u64::from(t.weight)));
    if divisor == 0 {
        return vec![0; targets.len()];
    }
    let reduced: Vec<u64> = targets
        .iter()
        .map(|t| u64::from(t.weight) / divisor)
        .collect();
    let total: u64 = reduced.iter().sum();
    if total <= MAX_SLOTS {
        return reduced;
    }
    reduced
        .iter()
        .map(|&p| match p {
            0 => 0,
            p => (p * MAX_SLOTS / total).max(1),
        })
        .collect()
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 { a } else { gcd(b, a % b) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn targets(weights: &[u32]) -> Vec<Target> {
        weights
            .iter()
            .enumerate()
            .map(|(i, w)| Target {
                weight: *w,
                ..Target::new(format!("10.0.0.{i}"), 80)
            })
            .collect()
    }

    #[test]
    fn a_turn_gives_each_target_its_reduced_weight_in_slots() {
        let wheel = Wheel::new(&targets(&[100, 300]));
        assert_eq!(wheel.slots, vec![1, 0, 1, 1]);
        let wheel = Wheel::new(&targets(&[2, 0, 3]));
        assert_eq!(wheel.len(), 5);
        assert!(!wheel.slots.contains(&1), "weight 0 holds no slot");
        assert_eq!(wheel.slots.iter().filter(|i| **i == 2).count(), 3);
    }

    #[test]
    fn equal_weights_are_plain_turns_and_heavy_targets_are_spread() {
        assert_eq!(Wheel::new(&targets(&[100; 4])).slots, vec![0, 1, 2, 3]);
        // A weight of 1 against 7: never two light slots together, and the
        // heavy target's slots split around it.
        let slots = Wheel::new(&targets(&[1, 7])).slots;
        assert_eq!(slots.len(), 8);
        assert_eq!(slots.iter().filter(|i| **i == 0).count(), 1);
        let light = slots.iter().position(|i| *i == 0).unwrap();
        assert!((2..6).contains(&light), "{slots:?}");
    }

    #[test]
    fn huge_coprime_weights_are_scaled_to_fit() {
        let weights: Vec<u32> = (0..40).map(|i| 65_535 - 2 * i).collect();
        let wheel = Wheel::new(&targets(&weights));
        assert!(wheel.len() as u64 <= MAX_SLOTS + 40);
        assert!(wheel.len() > 1_000_000);
        for i in 0..40 {
            assert!(wheel.slots.contains(&i));
        }
    }

    #[test]
    fn all_zero_is_an_empty_wheel() {
        let wheel = Wheel::new(&targets(&[0, 0]));
        assert_eq!(wheel.len(), 0);
        assert_eq!(wheel.from(3).count(), 0);
    }
}
