//! The Kong kinds kingress reads but does not serve, as KIC's CRDs define
//! them: the cluster source watches them (by metadata) to report each
//! object, and status writes `Programmed=False` on those whose status
//! carries conditions.

/// A Kong kind kingress reports rather than serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UnservedKind {
    /// `group/version`.
    pub api_version: &'static str,
    /// Kind.
    pub kind: &'static str,
    /// Resource name.
    pub plural: &'static str,
    /// Whether the kind is cluster-scoped.
    pub cluster: bool,
    /// Whether a controller of our ingress class writes the kind's
    /// `status.conditions` (KIC writes `Programmed` on KongVault and
    /// KongCustomEntity; TCPIngress and UDPIngress status has only
    /// `loadBalancer`; KongLicense keeps conditions per controller under
    /// `status.controllers`; KongDataPlaneClientCertificate's belong to
    /// Kong's operator).
    pub conditions: bool,
}

/// The Kong kinds kingress does not serve.
pub const UNSERVED_KINDS: [UnservedKind; 6] = [
    kind("v1beta1", "TCPIngress", "tcpingresses", false, false),
    kind("v1beta1", "UDPIngress", "udpingresses", false, false),
    kind("v1alpha1", "KongVault", "kongvaults", true, true),
    kind("v1alpha1", "KongLicense", "konglicenses", true, false),
    kind(
        "v1alpha1",
        "KongCustomEntity",
        "kongcustomentities",
        false,
        true,
    ),
    kind(
        "v1alpha1",
        "KongDataPlaneClientCertificate",
        "kongdataplaneclientcertificates",
        false,
        false,
    ),
];

const fn kind(
    version: &'static str,
    kind: &'static str,
    plural: &'static str,
    cluster: bool,
    conditions: bool,
) -> UnservedKind {
    let api_version = match version.as_bytes() {
        b"v1beta1" => "configuration.konghq.com/v1beta1",
        _ => "configuration.konghq.com/v1alpha1",
    };
    UnservedKind {
        api_version,
        kind,
        plural,
        cluster,
        conditions,
    }
}

/// The unserved kind named `kind`, if it is one.
pub fn unserved_kind(kind: &str) -> Option<&'static UnservedKind> {
    UNSERVED_KINDS.iter().find(|k| k.kind == kind)
}
