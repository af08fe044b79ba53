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
