//! One balancer per upstream, built with each published table: which target
//! the next request goes to (round-robin, least-connections, consistent
//! hashing, latency) and which targets are healthy. Services whose `host`
//! names the same kong.yml upstream share its balancer, as in Kong: one
//! round-robin position, one set of in-flight counts, one health state and
//! one probe task. The request path reads atomics only; no lock is shared
//! between upstreams or requests.
//!
//! Health state belongs to a target of an upstream, not to a table: a table
//! that keeps the upstream and the target keeps its `TargetState` (the same
//! `Arc`), so a configuration change does not forget that a target is down,
//! and in-flight counts stay right across the swap.

mod health;
mod ring;
mod wheel;

use crate::model::{Algorithm, Balance, Service, Shared, Table, Target};
use ring::Ring;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;
use wheel::Wheel;

pub use health::{Health, Source, Verdict};

/// The balancers of one table, by service name (services of one upstream
/// share theirs).
#[derive(Default)]
pub struct Balancers {
    by_service: Arc<HashMap<String, Arc<Balancer>>>,
    /// The services these balancers were built for. Translate hands the
    /// next table the very same services when none changed (an edit of
    /// routes or consumers alone), and that table gets these balancers
    /// again without looking at each service: 36 ms at 50,000 services.
    services: Option<Shared<BTreeMap<String, Service>>>,
    /// Counts health changes of every generation's targets (shared across
    /// tables), so watchers refresh only when something changed.
    changes: Arc<AtomicU64>,
}

/// How one upstream spreads requests over its targets.
#[derive(Debug)]
pub struct Balancer {
    /// The upstream's name (the service's own for a service without a
    /// kong.yml upstream).
    upstream: String,
    balance: Option<Arc<Balance>>,
    targets: Vec<Target>,
    /// Per-target state, aligned with `targets`; empty without a policy
    /// (plain round-robin needs none).
    states: Vec<Arc<TargetState>>,
    next: AtomicUsize,
    /// Round-robin order by weight (also consistent hashing's when a
    /// request has no key).
    wheel: Wheel,
    ring: Option<Ring>,
    changes: Arc<AtomicU64>,
}

/// What a target's balancer and health checks know about it.
#[derive(Debug)]
pub struct TargetState {
    /// Requests sent whose response body has not ended.
    in_flight: AtomicU32,
    /// Moving average of response time in microseconds (0 = none yet).
    ewma_us: AtomicU64,
    /// Healthy or not, and the counters that decide it.
    pub health: Health,
}

/// The answer of [`Balancer::pick`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pick {
    /// Send to this index of the service's targets.
    Target(usize),
    /// Every target is unhealthy (or too few are, by `threshold`): Kong's
    /// "failure to get a peer from the ring-balancer".
    NoneHealthy,
    /// Every healthy target was tried already.
    Exhausted,
}

/// Counts a request in flight on a target until dropped; the response time
/// feeds the latency average.
#[derive(Debug)]
pub struct InFlight {
    state: Arc<TargetState>,
    started: std::time::Instant,
}

// === impl Balancers ===

impl std::fmt::Debug for Balancers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The services are the table's; printing them again says nothing.
        f.debug_struct("Balancers")
            .field("by_service", &self.by_service)
            .finish_non_exhaustive()
    }
}

impl Balancers {
    /// The balancers of `table`, one per upstream, keeping from `previous`
    /// every balancer whose upstream did not change and the state of every
    /// target that stayed.
    pub fn build(table: &Table, previous: Option<&Balancers>) -> Self {
        let changes = previous.map_or_else(Default::default, |p| Arc::clone(&p.changes));
        if let Some(p) = previous
            && p.services
                .as_ref()
                .is_some_and(|s| Shared::ptr_eq(s, &table.services))
        {
            return Self {
                by_service: Arc::clone(&p.by_service),
                services: p.services.clone(),
                changes,
            };
        }
        let mut by_upstream: HashMap<&str, Arc<Balancer>> = HashMap::new();
        let by_service = table
            .services
            .values()
            .map(|service| {
                // Shared only when it is the same upstream: two kong.yml
                // documents may each name an upstream alike.
                let balancer = match by_upstream.get(service.upstream_name()) {
                    Some(shared) if shared.serves(service) => Arc::clone(shared),
                    _ => {
                        let before = previous.and_then(|p| p.by_service.get(&service.name));
                        let built = match before {
                            Some(b) if b.serves(service) => Arc::clone(b),
                            _ => Arc::new(Balancer::new(service, before, &changes)),
                        };
                        by_upstream
                            .entry(service.upstream_name())
                            .or_insert_with(|| Arc::clone(&built));
                        built
                    }
                };
                (service.name.clone(), balancer)
            })
            .collect();
        Self {
            by_service: Arc::new(by_service),
            services: Some(table.services.clone()),
            changes,
        }
    }

    /// The balancer of service `name` (its upstream's).
    pub fn get(&self, name: &str) -> Option<&Arc<Balancer>> {
        self.by_service.get(name)
    }

    /// Every balancer once, with the name of one service that uses it
    /// (the first by name).
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Arc<Balancer>)> {
        self.iter_where(|_| true)
    }

    /// As [`Balancers::iter`], of the balancers `keep` accepts, which are
    /// picked before the sort: the health checks ask on every new table
    /// for the few with active checks among 50,000 services, and sorting
    /// them all was a visible part of an edit's CPU at that scale.
    pub fn iter_where(
        &self,
        keep: impl Fn(&Balancer) -> bool,
    ) -> impl Iterator<Item = (&str, &Arc<Balancer>)> {
        let mut seen = std::collections::HashSet::new();
        let mut all: Vec<(&str, &Arc<Balancer>)> = self
            .by_service
            .iter()
            .filter(|(_, v)| keep(v))
            .map(|(k, v)| (k.as_str(), v))
            .collect();
        all.sort_unstable_by_key(|(k, _)| *k);
        all.into_iter()
            .filter(move |(_, b)| seen.insert(Arc::as_ptr(b)))
    }

    /// Number of health changes so far (any service, any generation).
    pub fn changes(&self) -> u64 {
        self.changes.load(Ordering::Relaxed)
    }
}

// === impl Balancer ===

impl Balancer {
    fn new(service: &Service, before: Option<&Arc<Balancer>>, changes: &Arc<AtomicU64>) -> Self {
        let balance = service.balance.clone();
        let checked = balance
            .as_ref()
            .is_some_and(|b| b.healthchecks.active_on() || b.healthchecks.passive_on());
        let states = match &balance {
            None => Vec::new(),
            Some(_) => service
                .targets
                .iter()
                .map(|t| {
                    let kept = before
                        .filter(|_| checked)
                        .and_then(|b| b.state_of(t))
                        .cloned();
                    kept.unwrap_or_else(|| Arc::new(TargetState::new()))
                })
                .collect(),
        };
        let ring = balance
            .as_ref()
            .filter(|b| b.algorithm == Algorithm::ConsistentHashing)
            .map(|b| Ring::new(&service.targets, b.slots));
        Self {
            upstream: service.upstream_name().to_string(),
            balance,
            targets: service.targets.clone(),
            states,
            next: AtomicUsize::new(before.map_or(0, |b| b.next.load(Ordering::Relaxed))),
            wheel: Wheel::new(&service.targets),
            ring,
            changes: Arc::clone(changes),
        }
    }

    /// Whether this balancer was built for exactly `service`'s upstream,
    /// targets and policy.
    fn serves(&self, service: &Service) -> bool {
        self.upstream == service.upstream_name()
            && self.targets == service.targets
            && self.balance == service.balance
    }

    /// The state of the target at `target`'s address (a weight change
    /// keeps what is known of its health).
    fn state_of(&self, target: &Target) -> Option<&Arc<TargetState>> {
        let i = self.targets.iter().position(|t| t.same_address(target))?;
        self.states.get(i)
    }

    /// The upstream's name (the service's own name when the service has
    /// no kong.yml upstream).
    pub fn upstream(&self) -> &str {
        &self.upstream
    }

    /// The policy, if any.
    pub fn balance(&self) -> Option<&Balance> {
        self.balance.as_deref()
    }

    /// The targets, in the service's order.
    pub fn targets(&self) -> &[Target] {
        &self.targets
    }

    /// The state of target `index` (`None` without a policy).
    pub fn state(&self, index: usize) -> Option<&Arc<TargetState>> {
        self.states.get(index)
    }

    /// Whether health checks (active or passive) decide who gets traffic.
    pub fn checked(&self) -> bool {
        self.balance
            .as_ref()
            .is_some_and(|b| b.healthchecks.active_on() || b.healthchecks.passive_on())
    }

    /// Whether target `index` may get traffic.
    pub fn is_healthy(&self, index: usize) -> bool {
        !self.checked() || self.states.get(index).is_none_or(|s| s.health.is_healthy())
    }

    /// The next target for a request, skipping the targets in `tried` and
    /// the unhealthy ones. `hash` is the consistent-hashing key's hash
    /// (`None`: none could be read, round-robin instead).
    pub fn pick(&self, hash: Option<u32>, tried: &[usize]) -> Pick {
        let len = self.targets.len();
        if len == 0 {
            return Pick::NoneHealthy;
        }
        let Some(balance) = &self.balance else {
            return self.round_robin(tried);
        };
        let healthy = (0..len).filter(|i| self.is_healthy(*i)).count();
        let threshold = usize::from(balance.healthchecks.threshold);
        if healthy == 0 || healthy * 100 < threshold * len {
            return Pick::NoneHealthy;
        }
        let usable = |i: usize| self.is_healthy(i) && !tried.contains(&i);
        // Kong divides each target's score by its weight: a target of
        // twice the weight carries twice the connections (or latency).
        let found = match (balance.algorithm, &self.ring, hash) {
            (Algorithm::ConsistentHashing, Some(ring), Some(hash)) => ring.find(hash, usable),
            (Algorithm::LeastConnections, _, _) => self.least(len, usable, |s| {
                u64::from(s.in_flight.load(Ordering::Relaxed)) + 1
            }),
            (Algorithm::Latency, _, _) => self.least(len, usable, |s| {
                let inflight = u64::from(s.in_flight.load(Ordering::Relaxed));
                s.ewma_us
                    .load(Ordering::Relaxed)
                    .saturating_mul(inflight + 1)
            }),
            _ => self.turn(usable),
        };
        found.map_or(Pick::Exhausted, Pick::Target)
    }

    fn round_robin(&self, tried: &[usize]) -> Pick {
        self.turn(|i| !tried.contains(&i))
            .map_or(Pick::Exhausted, Pick::Target)
    }

    /// The next usable target of the round-robin wheel.
    fn turn(&self, usable: impl Fn(usize) -> bool) -> Option<usize> {
        if self.wheel.len() == 0 {
            return None;
        }
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        self.wheel.from(start).find(|i| usable(*i))
    }

    /// The usable target (of a weight above 0) with the lowest `cost` per
    /// unit of weight; ties take turns so equal targets share the load.
    fn least(
        &self,
        len: usize,
        usable: impl Fn(usize) -> bool,
        cost: impl Fn(&TargetState) -> u64,
    ) -> Option<usize> {
        let weight = |i: usize| self.targets.get(i).map_or(0, |t| u64::from(t.weight));
        let usable = |i: usize| usable(i) && weight(i) > 0;
        // Scaled by 2^16 before dividing, so weights up to 65535 still
        // order costs that differ by one connection.
        let cost_of = |i: usize| {
            let raw = self.states.get(i).map_or(0, |s| cost(s));
            raw.saturating_mul(1 << 16) / weight(i).max(1)
        };
        let lowest = (0..len).filter(|i| usable(*i)).map(cost_of).min()?;
        let tied = |i: &usize| usable(*i) && cost_of(*i) == lowest;
        let ties = (0..len).filter(tied).count();
        let turn = self.next.fetch_add(1, Ordering::Relaxed) % ties.max(1);
        (0..len).filter(tied).nth(turn)
    }

    /// Counts a request on target `index` until the guard drops (`None`
    /// without a policy: nothing reads the count).
    pub fn start(&self, index: usize) -> Option<InFlight> {
        let state = self.states.get(index)?;
        state.in_flight.fetch_add(1, Ordering::Relaxed);
        Some(InFlight {
            state: Arc::clone(state),
            started: std::time::Instant::now(),
        })
    }

    /// Reports what a request or probe saw of target `index`; returns
    /// whether the target's health changed.
    pub fn report(&self, index: usize, source: Source, verdict: Verdict) -> bool {
        let (Some(balance), Some(state)) = (&self.balance, self.states.get(index)) else {
            return false;
        };
        let changed = state.health.report(&balance.healthchecks, source, verdict);
        if changed {
            self.changes.fetch_add(1, Ordering::Relaxed);
        }
        changed
    }

    /// Sets target `index` healthy or unhealthy by hand (Kong's Admin API
    /// `/healthy` and `/unhealthy`); returns whether it exists.
    pub fn set_health(&self, index: usize, healthy: bool) -> bool {
        let Some(state) = self.states.get(index) else {
            return false;
        };
        if state.health.set(healthy) {
            self.changes.fetch_add(1, Ordering::Relaxed);
        }
        true
    }
}

// === impl TargetState ===

impl TargetState {
    fn new() -> Self {
        Self {
            in_flight: AtomicU32::new(0),
            ewma_us: AtomicU64::new(0),
            health: Health::new(),
        }
    }

    /// Requests in flight.
    pub fn in_flight(&self) -> u32 {
        self.in_flight.load(Ordering::Relaxed)
    }

    /// The moving average of response time (zero before the first).
    pub fn latency(&self) -> Duration {
        Duration::from_micros(self.ewma_us.load(Ordering::Relaxed))
    }
}

// === impl InFlight ===

impl Drop for InFlight {
    fn drop(&mut self) {
        self.state.in_flight.fetch_sub(1, Ordering::Relaxed);
        let sample = u64::try_from(self.started.elapsed().as_micros()).unwrap_or(u64::MAX);
        let old = self.state.ewma_us.load(Ordering::Relaxed);
        // Weight 1/4 for the new sample: recent enough to follow a target
        // that slows down, smooth enough to ignore one slow response.
        let new = if old == 0 {
            sample.max(1)
        } else {
            (old.saturating_mul(3) / 4)
                .saturating_add(sample / 4)
                .max(1)
        };
        self.state.ewma_us.store(new, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests;
