"""Manifests for the control-plane scale run, as a cluster would hold them:
N Ingresses (one host each) with a Service and an EndpointSlice apiece,
10,000 KongConsumers with oauth2 credential Secrets (hash_secret false: the
argon2 cost of hashed ones is a separate, per-credential start-up cost),
1,000 KongPlugins attached to the first 1,000 Ingresses (half oauth2, half
openid-connect kong_oauth2, so no identity provider is contacted), and one
probe Ingress in its own file, rewritten by the change-to-effect runs."""

from pathlib import Path

CHUNK = 500
PROBE_HOST = "probe.scale.test"
PROBE_FILE = "zz-probe.yaml"

CLASS = """apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata: {name: kong}
spec: {controller: ingress-controllers.konghq.com/kong}
"""

INGRESS = """---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: app-%(i)d
  namespace: ns-%(ns)d%(annotations)s
spec:
  ingressClassName: kong
  rules:
    - host: app-%(i)d.scale.test
      http:
        paths:
          - path: /
            pathType: Prefix
            backend: {service: {name: app-%(i)d, port: {number: 80}}}
---
apiVersion: v1
kind: Service
metadata: {name: app-%(i)d, namespace: ns-%(ns)d}
spec:
  ports: [{name: http, port: 80, targetPort: %(port)d}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: app-%(i)d-1
  namespace: ns-%(ns)d
  labels: {kubernetes.io/service-name: app-%(i)d}
addressType: IPv4
ports: [{name: http, port: %(port)d, protocol: TCP}]
endpoints:
  - addresses: ["127.0.0.1"]
    conditions: {ready: true}
"""

CONSUMER = """---
apiVersion: configuration.konghq.com/v1
kind: KongConsumer
metadata:
  name: consumer-%(j)d
  namespace: consumers
  annotations: {kubernetes.io/ingress.class: kong}
username: consumer-%(j)d
credentials: [consumer-%(j)d-oauth2]
---
apiVersion: v1
kind: Secret
metadata:
  name: consumer-%(j)d-oauth2
  namespace: consumers
  labels: {konghq.com/credential: oauth2}
stringData:
  name: app-%(j)d
  client_id: client-%(j)d
  client_secret: secret-%(j)d-not-for-production
  hash_secret: "%(hash)s"
"""

PLUGIN_OAUTH2 = """---
apiVersion: configuration.konghq.com/v1
kind: KongPlugin
metadata: {name: plugin-%(i)d, namespace: ns-%(ns)d}
plugin: oauth2
config: {enable_client_credentials: true, global_credentials: true}
"""

PLUGIN_OIDC = """---
apiVersion: configuration.konghq.com/v1
kind: KongPlugin
metadata: {name: plugin-%(i)d, namespace: ns-%(ns)d}
plugin: openid-connect
config:
  issuer: "https://idp.scale.test/realms/r%(i)d"
  auth_methods: ["kong_oauth2"]
"""

PROBE = """apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: probe, namespace: default}
spec:
  ingressClassName: kong
  rules:
    - host: %(host)s
      http:
        paths:
          - path: /v%(k)d
            pathType: Prefix
            backend: {service: {name: probe, port: {number: 80}}}
"""

PROBE_SERVICE = """apiVersion: v1
kind: Service
metadata: {name: probe, namespace: default}
spec:
  ports: [{name: http, port: 80, targetPort: %(port)d}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: probe-1
  namespace: default
  labels: {kubernetes.io/service-name: probe}
addressType: IPv4
ports: [{name: http, port: %(port)d, protocol: TCP}]
endpoints:
  - addresses: ["127.0.0.1"]
    conditions: {ready: true}
"""


def namespace(i: int) -> int:
    return i // 100  # 100 Ingresses per namespace


def generate(out: Path, ingresses: int, consumers: int, plugins: int, upstream_port: int,
             hash_secret: bool = False) -> dict:
    """Writes the manifests under `out`; returns object counts and bytes."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "00-class.yaml").write_text(CLASS)
    plugins = min(plugins, ingresses)
    for start in range(0, ingresses, CHUNK):
        docs = []
        for i in range(start, min(start + CHUNK, ingresses)):
            ann = f"\n  annotations: {{konghq.com/plugins: plugin-{i}}}" if i < plugins else ""
            docs.append(INGRESS % {"i": i, "ns": namespace(i), "annotations": ann,
                                   "port": upstream_port})
        (out / f"10-ingresses-{start // CHUNK:04d}.yaml").write_text("".join(docs))
    for start in range(0, consumers, CHUNK):
        docs = [CONSUMER % {"j": j, "hash": "true" if hash_secret else "false"}
                for j in range(start, min(start + CHUNK, consumers))]
        (out / f"20-consumers-{start // CHUNK:04d}.yaml").write_text("".join(docs))
    docs = [(PLUGIN_OAUTH2 if i % 2 == 0 else PLUGIN_OIDC) % {"i": i, "ns": namespace(i)}
            for i in range(plugins)]
    (out / "30-plugins.yaml").write_text("".join(docs))
    (out / "40-probe-service.yaml").write_text(PROBE_SERVICE % {"port": upstream_port})
    write_probe(out, 0)
    size = sum(f.stat().st_size for f in out.iterdir())
    return {"ingresses": ingresses, "services": ingresses + 1, "endpoint_slices": ingresses + 1,
            "consumers": consumers, "credential_secrets": consumers, "plugins": plugins,
            "objects": 1 + 3 * ingresses + 2 * consumers + plugins + 3, "bytes": size}


def write_probe(out: Path, k: int) -> None:
    """Rewrites the probe Ingress to serve /v<k>, atomically (write a hidden
    temp file, rename over the old one), as `kubectl apply` replaces an object
    whole."""
    tmp = out / f".{PROBE_FILE}.tmp"
    tmp.write_text(PROBE % {"host": PROBE_HOST, "k": k})
    tmp.rename(out / PROBE_FILE)
