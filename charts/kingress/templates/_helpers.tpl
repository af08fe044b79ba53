{{/* Full name: the release name, with the chart name unless it already contains it. */}}
{{- define "kingress.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "kingress.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "kingress.labels" -}}
{{ include "kingress.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "kingress.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "kingress.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* namespace/name of the Service whose addresses go into Ingress status. */}}
{{- define "kingress.publishService" -}}
{{- if .Values.publishService.name -}}
{{- .Values.publishService.name -}}
{{- else -}}
{{- printf "%s/%s-proxy" .Release.Namespace (include "kingress.fullname" .) -}}
{{- end -}}
{{- end -}}

{{/*
Values under Kong's chart names (proxy.*, ingressController.*, env) win over
the kingress names they stand for, so a values file written for Kong's chart
works unchanged. Each helper below resolves one setting; templates use only
these, never the raw keys.
*/}}

{{/* The proxy Service and ports, as JSON: kingress's service.* overlaid with Kong's proxy.*. */}}
{{- define "kingress.proxy" -}}
{{- $s := .Values.service -}}
{{- $p := .Values.proxy | default dict -}}
{{- $out := dict
  "type" (dig "type" $s.type $p)
  "annotations" (dig "annotations" $s.annotations $p)
  "externalTrafficPolicy" (dig "externalTrafficPolicy" $s.externalTrafficPolicy $p) -}}
{{- range $name := list "http" "tls" -}}
{{- $k := get $s $name -}}
{{- $kong := dig $name dict $p -}}
{{- $_ := set $out $name (dict
  "enabled" (dig "enabled" $k.enabled $kong)
  "port" (dig "servicePort" $k.port $kong)
  "containerPort" (dig "containerPort" $k.containerPort $kong)
  "nodePort" (dig "nodePort" $k.nodePort $kong)) -}}
{{- end -}}
{{- toJson $out -}}
{{- end -}}

{{/* Kong's ingressController.env (CONTROLLER_* variables in Kong's chart). */}}
{{- define "kingress.controllerEnv" -}}
{{- toJson (dig "env" dict (.Values.ingressController | default dict)) -}}
{{- end -}}

{{/* The ingress class served. */}}
{{- define "kingress.ingressClass" -}}
{{- $ic := .Values.ingressController | default dict -}}
{{- $env := include "kingress.controllerEnv" . | fromJson -}}
{{- get $env "ingress_class" | default (dig "ingressClass" .Values.ingressClass.name $ic) -}}
{{- end -}}

{{/* The namespaces watched, as a JSON list; empty means all. */}}
{{- define "kingress.watchNamespaces" -}}
{{- $ic := .Values.ingressController | default dict -}}
{{- $env := include "kingress.controllerEnv" . | fromJson -}}
{{- $ns := dig "watchNamespaces" .Values.watchNamespaces $ic -}}
{{- with get $env "watch_namespace" -}}
{{- $ns = splitList "," . -}}
{{- end -}}
{{- toJson ($ns | default list) -}}
{{- end -}}

{{/* The log format: Kong's ingressController.env.log_format wins. */}}
{{- define "kingress.logFormat" -}}
{{- $env := include "kingress.controllerEnv" . | fromJson -}}
{{- get $env "log_format" | default .Values.logFormat -}}
{{- end -}}

{{/*
KINGRESS_* variables from Kong's env (kong.conf settings, KONG_* in Kong's
chart), as a YAML list of env entries. Mapped:
  trusted_ips                         -> KINGRESS_TRUSTED_IPS
  log_level (also ingressController.env.log_level), proxy_access_log: off
                                      -> KINGRESS_LOG
  nginx_http_underscores_in_headers / nginx_proxy_underscores_in_headers: on
                                      -> KINGRESS_UNDERSCORES_IN_HEADERS
  nginx_http_keepalive_timeout        -> KINGRESS_KEEPALIVE_TIMEOUT
  nginx_http_client_header_timeout    -> KINGRESS_CLIENT_HEADER_TIMEOUT
  nginx_worker_processes: N           -> TOKIO_WORKER_THREADS (proxy workers;
                                         auto is kingress's default: one per CPU)
The rest is listed in NOTES.txt as not used ("kingress.unmappedEnv").
*/}}
{{- define "kingress.kongEnv" -}}
{{- $env := .Values.env | default dict -}}
{{- $ctl := include "kingress.controllerEnv" . | fromJson -}}
{{- with get $env "trusted_ips" }}
- name: KINGRESS_TRUSTED_IPS
  {{- if kindIs "map" . }}
  {{- toYaml . | nindent 2 }}
  {{- else }}
  value: {{ . | toString | quote }}
  {{- end }}
{{- end }}
{{- $level := get $env "log_level" | default (get $ctl "log_level") | default "" | toString | lower -}}
{{- $levels := dict "debug" "debug" "trace" "trace" "info" "info" "notice" "info" "warn" "warn" "warning" "warn" "error" "error" "crit" "error" "alert" "error" "emerg" "error" "fatal" "error" "panic" "error" -}}
{{- $filter := list -}}
{{- if $level }}
{{- $filter = append $filter (get $levels $level | default "info") -}}
{{- end }}
{{- if eq (get $env "proxy_access_log" | default "" | toString) "off" }}
{{- if not $filter }}{{- $filter = list "info" -}}{{- end }}
{{- $filter = append $filter "kingress::access=off" -}}
{{- end }}
{{- with $filter }}
- name: KINGRESS_LOG
  value: {{ join "," . | quote }}
{{- end }}
{{- $underscores := get $env "nginx_http_underscores_in_headers" | default (get $env "nginx_proxy_underscores_in_headers") | default "" | toString -}}
{{- if eq $underscores "on" }}
- name: KINGRESS_UNDERSCORES_IN_HEADERS
  value: "true"
{{- end }}
{{- $workers := get $env "nginx_worker_processes" | default "" | toString -}}
{{- if regexMatch "^[1-9][0-9]*$" $workers }}
- name: TOKIO_WORKER_THREADS
  value: {{ $workers | quote }}
{{- end }}
{{- range $kong, $ours := dict "nginx_http_keepalive_timeout" "KINGRESS_KEEPALIVE_TIMEOUT" "nginx_http_client_header_timeout" "KINGRESS_CLIENT_HEADER_TIMEOUT" }}
{{- with get $env $kong }}
{{- $v := . | toString }}
- name: {{ $ours }}
  {{- /* nginx reads a bare number as seconds, kingress as milliseconds. */}}
  value: {{ if regexMatch "^[0-9]+$" $v }}{{ printf "%ss" $v | quote }}{{ else }}{{ $v | quote }}{{ end }}
{{- end }}
{{- end }}
{{- end -}}

{{/* Kong env keys (env and ingressController.env) kingress has no use for, comma-separated. */}}
{{- define "kingress.unmappedEnv" -}}
{{- $used := list "trusted_ips" "log_level" "proxy_access_log" "nginx_http_underscores_in_headers" "nginx_proxy_underscores_in_headers" "nginx_http_keepalive_timeout" "nginx_http_client_header_timeout" "nginx_worker_processes" "database" -}}
{{- $ctlUsed := list "ingress_class" "watch_namespace" "publish_service" "publish_status_address" "log_format" "log_level" -}}
{{- $out := list -}}
{{- range $k, $_ := .Values.env | default dict }}
{{- if not (has $k $used) }}{{ $out = append $out (printf "env.%s" $k) }}{{ end }}
{{- end }}
{{- range $k, $_ := include "kingress.controllerEnv" . | fromJson }}
{{- if not (has $k $ctlUsed) }}{{ $out = append $out (printf "ingressController.env.%s" $k) }}{{ end }}
{{- end }}
{{- if and (hasKey (.Values.env | default dict) "database") (ne (toString .Values.env.database) "off") }}
{{- $out = append $out "env.database (kingress has no database: it is always DB-less)" }}
{{- end }}
{{- join ", " $out -}}
{{- end -}}

{{/* The install notes (NOTES.txt is just this), a named template so tests can render them. */}}
{{- define "kingress.notes" -}}
{{- $proxy := include "kingress.proxy" . | fromJson -}}
kingress {{ .Chart.AppVersion }} serves IngressClass "{{ include "kingress.ingressClass" . }}".

Proxy: Service {{ include "kingress.fullname" . }}-proxy in namespace {{ .Release.Namespace }} (type {{ $proxy.type }}).
  kubectl -n {{ .Release.Namespace }} get service {{ include "kingress.fullname" . }}-proxy
{{- if and (not .Values.autoscaling.enabled) (gt (int .Values.replicaCount) 1) (eq .Values.tokenStore.url "memory") (not .Values.tokenStore.existingSecret) }}

WARNING: {{ .Values.replicaCount }} replicas with the memory token store: a token issued by one
replica is unknown to the others. Set tokenStore.url to a redis:// URL.
{{- end }}
{{- if and .Values.autoscaling.enabled (eq .Values.tokenStore.url "memory") (not .Values.tokenStore.existingSecret) }}

WARNING: autoscaling with the memory token store: a token issued by one replica is unknown to
the others. Set tokenStore.url to a redis:// URL.
{{- end }}
{{- if dig "enabled" false (.Values.podSecurityPolicy | default dict) }}

NOTE: podSecurityPolicy is ignored: PodSecurityPolicy was removed in Kubernetes 1.25, which this
chart needs. The pod runs as non-root with a read-only root filesystem, no privilege escalation
and no capabilities (the "restricted" Pod Security Standard).
{{- end }}
{{- if hasKey (.Values.ingressController | default dict) "installCRDs" }}

NOTE: ingressController.installCRDs has no effect: the CRDs are installed from the chart's crds/
directory, as Helm 3 does for Kong's chart too (helm install --skip-crds leaves them out).
{{- end }}
{{- with include "kingress.unmappedEnv" . }}

NOTE: these Kong settings have no kingress equivalent and are not used: {{ . }}
{{- end }}

{{- end -}}
