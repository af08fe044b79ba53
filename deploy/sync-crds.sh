#!/bin/sh
# Copies the generated CRDs (crds/kingress-crds.yaml) into the Helm chart and
# between the CRD markers of deploy/kingress.yaml. tests/crds.rs fails when
# a copy is stale. Regenerate crds/ first: cargo run -- crds > crds/kingress-crds.yaml
set -eu
cd "$(dirname "$0")/.."
cp crds/kingress-crds.yaml charts/kingress/crds/kingress-crds.yaml
awk -v crds=crds/kingress-crds.yaml '
  /^# BEGIN CRDs/ { print; while ((getline line < crds) > 0) print line; skip = 1; next }
  /^# END CRDs/   { skip = 0 }
  !skip           { print }
' deploy/kingress.yaml > deploy/kingress.yaml.tmp
mv deploy/kingress.yaml.tmp deploy/kingress.yaml
