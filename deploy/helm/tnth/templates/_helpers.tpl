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

{{/*
The pod template's labels: only what does not change from one chart version to the next, so an
upgrade that changes nothing in the pods restarts none.
*/}}
{{- define "tnth.podLabels" -}}
{{ include "tnth.selectorLabels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* A process's ServiceAccount: `<component>.serviceAccount.name`, or <fullname>-<component>. */}}
{{- define "tnth.serviceAccountName" -}}
{{- $account := (index .root.Values .component).serviceAccount -}}
{{- if $account.create -}}
{{- default (printf "%s-%s" (include "tnth.fullname" .root) .component) $account.name -}}
{{- else -}}
{{- required (printf "%s.serviceAccount.name is required when %s.serviceAccount.create is false" .component .component) $account.name -}}
{{- end -}}
{{- end -}}

{{- define "tnth.image" -}}
{{- $image := .Values.image -}}
{{- $ref := printf "%s:%s" $image.repository (default .Chart.AppVersion $image.tag) -}}
{{- if $image.digest -}}
{{- $ref = printf "%s@%s" $ref $image.digest -}}
{{- end -}}
{{- $ref -}}
{{- end -}}

{{/* The Secret references a process gets: the webhook's to the worker, the API key to both. */}}
{{- define "tnth.secretRefs" -}}
{{- $refs := dict "TEMPORAL_API_KEY" .root.Values.secrets.temporalAPIKey -}}
{{- if eq .component "worker" -}}
{{- $_ := set $refs "WEBHOOK_URL" .root.Values.secrets.webhookURL -}}
{{- $_ := set $refs "WEBHOOK_HEADERS" .root.Values.secrets.webhookHeaders -}}
{{- end -}}
{{- $set := dict -}}
{{- range $variable, $ref := $refs -}}
{{- if $ref.name -}}
{{- $_ := set $set $variable (dict "name" $ref.name "key" (required (printf "secrets: the reference for %s names Secret %s but no key" $variable $ref.name) $ref.key)) -}}
{{- end -}}
{{- end -}}
{{- toJson $set -}}
{{- end -}}

{{/*
A checksum of what a process reads from Secrets: the references and, on a cluster (`helm install` and
`upgrade`; `helm template` cannot look), the referenced keys' values. A rotated Secret changes it, so
the next `helm upgrade` rolls the pods onto the new value.
*/}}
{{- define "tnth.secretsChecksum" -}}
{{- $refs := include "tnth.secretRefs" . | fromJson -}}
{{- $values := list -}}
{{- range $variable, $ref := $refs -}}
{{- $secret := lookup "v1" "Secret" $.root.Release.Namespace $ref.name -}}
{{- $values = append $values (printf "%s=%s/%s:%s" $variable $ref.name $ref.key (index (default (dict) ($secret).data) $ref.key | default "")) -}}
{{- end -}}
{{- $values | join "\n" | sha256sum -}}
{{- end -}}

{{/* The settings of `config` the starter reads; the worker reads all but STARTER_POLLERS. */}}
{{- define "tnth.starterSettings" -}}
{{- list "LIFECYCLE_HOOK_NAMES" "STARTER_POLLERS" "JSON_LOGGING" "LOG_LEVEL" "SHUTDOWN_GRACE_PERIOD" | toJson -}}
{{- end -}}

{{/*
A process's environment: the connection settings, its part of `config` (empty values left out), its
secrets and the HTTP servers the probes and Prometheus use. Called with (dict "root" $ "component" ...).
*/}}
{{- define "tnth.env" -}}
{{- $starterSettings := include "tnth.starterSettings" . | fromJsonArray -}}
{{- with .root -}}
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
{{- $queueURL := required "aws.queueURL is required: the SQS queue the starter polls" .Values.aws.queueURL }}
{{- if eq $.component "starter" }}
- name: QUEUE_URL
  value: {{ $queueURL | quote }}
{{- end }}
{{- if .Values.aws.region }}
- name: AWS_REGION
  value: {{ .Values.aws.region | quote }}
{{- end }}
{{- range $name, $value := .Values.config }}
{{- $reads := ternary (has $name $starterSettings) (ne $name "STARTER_POLLERS") (eq $.component "starter") }}
{{- if and (ne (toString $value) "") $reads }}
- name: {{ $name }}
  value: {{ toString $value | quote }}
{{- end }}
{{- end }}
{{- range $variable, $ref := include "tnth.secretRefs" $ | fromJson }}
- name: {{ $variable }}
  valueFrom:
    secretKeyRef:
      name: {{ $ref.name }}
      key: {{ $ref.key }}
{{- end }}
{{- if eq $.component "worker" }}
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
{{- end }}
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
{{- end }}
{{- end -}}

{{/*
The chart's placement for a process: anti-affinity between its replicas and a spread over zones,
unless its own `affinity` / `topologySpreadConstraints` replace them.
*/}}
{{- define "tnth.affinity" -}}
{{- $values := index .root.Values .component -}}
{{- $mode := .root.Values.placement.podAntiAffinity -}}
{{- if $values.affinity -}}
{{- toYaml $values.affinity -}}
{{- else if eq $mode "preferred" -}}
podAntiAffinity:
  preferredDuringSchedulingIgnoredDuringExecution:
    - weight: 100
      podAffinityTerm:
        topologyKey: kubernetes.io/hostname
        labelSelector:
          matchLabels:
            {{- include "tnth.podLabels" . | nindent 12 }}
{{- else if eq $mode "required" -}}
podAntiAffinity:
  requiredDuringSchedulingIgnoredDuringExecution:
    - topologyKey: kubernetes.io/hostname
      labelSelector:
        matchLabels:
          {{- include "tnth.podLabels" . | nindent 10 }}
{{- end -}}
{{- end -}}

{{- define "tnth.topologySpread" -}}
{{- $values := index .root.Values .component -}}
{{- if $values.topologySpreadConstraints -}}
{{- toYaml $values.topologySpreadConstraints -}}
{{- else if .root.Values.placement.spreadOverZones -}}
# ScheduleAnyway: a single-zone cluster, or a zone out of capacity, still runs every replica.
- maxSkew: 1
  topologyKey: topology.kubernetes.io/zone
  whenUnsatisfiable: ScheduleAnyway
  labelSelector:
    matchLabels:
      {{- include "tnth.podLabels" . | nindent 6 }}
{{- end -}}
{{- end -}}
