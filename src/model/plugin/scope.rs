//! Where a plugin instance is attached, and Kong 3's precedence when
//! several instances of one plugin apply to a request.

/// The consumer or consumer group an instance is scoped to.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Holder {
    /// A consumer, by id.
    Consumer(String),
    /// A consumer group, by name.
    Group(String),
}

/// An instance's attachment: to a route, a service, a consumer or consumer
/// group, any combination of them, or nothing (global).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Scope {
    /// Attached to the route.
    pub route: bool,
    /// Attached to the route's service.
    pub service: bool,
    /// Attached to a consumer or consumer group.
    pub holder: Option<Holder>,
}

// === impl Scope ===

impl Scope {
    /// A global instance.
    pub const GLOBAL: Scope = Scope {
        route: false,
        service: false,
        holder: None,
    };

    /// Kong's precedence: of the instances of one plugin that apply to a
    /// request, the one with the lowest rank runs (Kong Gateway's "plugin
    /// precedence": consumer+route+service, consumer-group+route+service,
    /// consumer+route, consumer+service, consumer-group+route,
    /// consumer-group+service, route+service, consumer, consumer-group,
    /// route, service, global).
    pub fn rank(&self) -> u8 {
        match (&self.holder, self.route, self.service) {
            (Some(Holder::Consumer(_)), true, true) => 1,
            (Some(Holder::Group(_)), true, true) => 2,
            (Some(Holder::Consumer(_)), true, false) => 3,
            (Some(Holder::Consumer(_)), false, true) => 4,
            (Some(Holder::Group(_)), true, false) => 5,
            (Some(Holder::Group(_)), false, true) => 6,
            (None, true, true) => 7,
            (Some(Holder::Consumer(_)), false, false) => 8,
            (Some(Holder::Group(_)), false, false) => 9,
            (None, true, false) => 10,
            (None, false, true) => 11,
            (None, false, false) => 12,
        }
    }

    /// Whether an instance with this scope applies to a request
    /// authenticated as consumer `consumer` in groups `groups`.
    pub fn holds(&self, consumer: &str, groups: &[String]) -> bool {
        match &self.holder {
            None => true,
            Some(Holder::Consumer(id)) => id == consumer,
            Some(Holder::Group(name)) => groups.iter().any(|g| g == name),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope(holder: Option<Holder>, route: bool, service: bool) -> Scope {
        Scope {
            route,
            service,
            holder,
        }
    }

    #[test]
    fn ranks_follow_kong_precedence() {
        let c = || Some(Holder::Consumer("c".into()));
        let g = || Some(Holder::Group("g".into()));
        let order = [
            scope(c(), true, true),
            scope(g(), true, true),
            scope(c(), true, false),
            scope(c(), false, true),
            scope(g(), true, false),
            scope(g(), false, true),
            scope(None, true, true),
            scope(c(), false, false),
            scope(g(), false, false),
            scope(None, true, false),
            scope(None, false, true),
            Scope::GLOBAL,
        ];
        let ranks: Vec<u8> = order.iter().map(Scope::rank).collect();
        assert_eq!(ranks, (1..=12).collect::<Vec<u8>>());
    }

    #[test]
    fn holders_match_their_consumer_or_group() {
        let groups = vec!["gold".to_string()];
        assert!(Scope::GLOBAL.holds("c1", &groups));
        assert!(scope(Some(Holder::Consumer("c1".into())), true, false).holds("c1", &[]));
        assert!(!scope(Some(Holder::Consumer("c1".into())), true, false).holds("c2", &groups));
        assert!(scope(Some(Holder::Group("gold".into())), false, false).holds("c2", &groups));
        assert!(!scope(Some(Holder::Group("gold".into())), false, false).holds("c2", &[]));
    }
}
