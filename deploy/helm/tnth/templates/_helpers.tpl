{{/* The release's base name, at most 63 characters (a DNS label); the components add a suffix. */}}
{{- define "tnth.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 55 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 55 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 55 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "tnth.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* What selects the release's pods; a component's pods add app.kubernetes.io/component. */}}
{{- define "tnth.selectorLabels" -}}
app.kubernetes.io/name: {{ include "tnth.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "tnth.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "tnth.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "tnth.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "tnth.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "tnth.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/*
Both processes' environment: the connection settings, `config` (empty values left out), the secrets
and the HTTP servers the probes and Prometheus use.
*/}}
{{- define "tnth.env" -}}
- name: TEMPORAL_ADDRESS
  value: {{ required "temporal.address is required" .Values.temporal.address | quote }}
- name: TEMPORAL_NAMESPACE
  value: {{ .Values.temporal.namespace | quote }}
- name: CLUSTER_NAME
  value: {{ required "clusterName is required: the cluster this release serves (its EKS cluster name)" .Values.clusterName | quote }}
{{- with .Values.temporal.taskQueue }}
- name: TEMPORAL_TASK_QUEUE
  value: {{ . | quote }}
{{- end }}
{{- with .Values.temporal.tls }}
{{- if .enabled }}
- name: TEMPORAL_TLS
  value: "true"
{{- end }}
{{- if .serverName }}
- name: TEMPORAL_TLS_SERVER_NAME
  value: {{ .serverName | quote }}
{{- end }}
{{- if .clientCertificate }}
- name: TEMPORAL_TLS_CERT_FILE
  value: /etc/tnth/temporal-tls/tls.crt
- name: TEMPORAL_TLS_KEY_FILE
  value: /etc/tnth/temporal-tls/tls.key
{{- end }}
{{- if .serverCA }}
- name: TEMPORAL_TLS_CA_FILE
  value: /etc/tnth/temporal-tls/ca.crt
{{- end }}
{{- end }}
- name: QUEUE_URL
  value: {{ required "aws.queueURL is required: the SQS queue the starter polls" .Values.aws.queueURL | quote }}
{{- if .Values.aws.region }}
- name: AWS_REGION
  value: {{ .Values.aws.region | quote }}
{{- end }}
{{- range $name, $value := .Values.config }}
{{- if ne (toString $value) "" }}
- name: {{ $name }}
  value: {{ toString $value | quote }}
{{- end }}
{{- end }}
{{- with .Values.secrets.existingSecret }}
{{- range list "WEBHOOK_URL" "WEBHOOK_HEADERS" "TEMPORAL_API_KEY" }}
- name: {{ . }}
  valueFrom:
    secretKeyRef:
      name: {{ $.Values.secrets.existingSecret }}
      key: {{ . }}
      optional: true
{{- end }}
{{- end }}
# Which pods are tnth's own: a drain evicts them after every other pod, and the pod of the worker
# that runs it the very last, so a replica on the node it drains hands the drain over to another.
- name: POD_NAME
  valueFrom:
    fieldRef:
      fieldPath: metadata.name
- name: POD_NAMESPACE
  valueFrom:
    fieldRef:
      fieldPath: metadata.namespace
- name: NODE_NAME
  valueFrom:
    fieldRef:
      fieldPath: spec.nodeName
- name: OWN_PODS_SELECTOR
  value: {{ printf "app.kubernetes.io/name=%s,app.kubernetes.io/instance=%s" (include "tnth.name" .) .Release.Name | quote }}
- name: ENABLE_PROBES_SERVER
  value: "true"
- name: PROBES_SERVER_PORT
  value: {{ .Values.probes.port | quote }}
- name: ENABLE_PROMETHEUS_SERVER
  value: "true"
- name: PROMETHEUS_SERVER_PORT
  value: {{ .Values.metrics.port | quote }}
{{- with .Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end -}}
