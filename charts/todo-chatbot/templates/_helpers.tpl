{{/*
Naming. Every object is "<prefix>-<component>" where the prefix is the release
name (or fullnameOverride). Ops scripts find workloads by labels
(app.kubernetes.io/instance=<release>, app.kubernetes.io/component=<c>), and the
frontend reaches the backend at http://<prefix>-backend:<port>.
*/}}
{{- define "todo-chatbot.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "todo-chatbot.prefix" -}}
{{- default .Release.Name .Values.fullnameOverride | trunc 42 | trimSuffix "-" }}
{{- end }}

{{/* "<prefix>-<component>": call with (dict "root" $ "component" "backend") */}}
{{- define "todo-chatbot.componentName" -}}
{{- printf "%s-%s" (include "todo-chatbot.prefix" .root) .component | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "todo-chatbot.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Selector labels: stable for the life of a release (never add to these). */}}
{{- define "todo-chatbot.selectorLabels" -}}
app.kubernetes.io/name: {{ include "todo-chatbot.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- with .component }}
app.kubernetes.io/component: {{ . }}
{{- end }}
{{- end }}

{{/* Standard labels for object metadata: (dict "root" $ "component" "backend"); component may be "". */}}
{{- define "todo-chatbot.labels" -}}
helm.sh/chart: {{ include "todo-chatbot.chart" .root }}
{{ include "todo-chatbot.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/part-of: todo-chatbot
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
{{- end }}

{{/* Pod template labels: selector labels plus part-of/version, and the component's podLabels. */}}
{{- define "todo-chatbot.podLabels" -}}
{{ include "todo-chatbot.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/part-of: todo-chatbot
{{- with .podLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/*
Image reference: (dict "image" .Values.backend.image "root" $).
An unset tag means the chart's appVersion; the schema rejects "" and "latest".
*/}}
{{- define "todo-chatbot.image" -}}
{{- $tag := .image.tag | default .root.Chart.AppVersion | toString -}}
{{- if .image.registry -}}
{{- printf "%s/%s:%s" (trimSuffix "/" .image.registry) .image.repository $tag -}}
{{- else -}}
{{- printf "%s:%s" .image.repository $tag -}}
{{- end -}}
{{- end }}

{{/* ServiceAccount name of a component: (dict "root" $ "component" "backend" "sa" .Values.backend.serviceAccount) */}}
{{- define "todo-chatbot.serviceAccountName" -}}
{{- if .sa.create -}}
{{- default (include "todo-chatbot.componentName" .) .sa.name -}}
{{- else -}}
{{- default "default" .sa.name -}}
{{- end -}}
{{- end }}

{{/* ---------------------------------------------------------------- secrets */}}

{{/* Name of the Secret holding BETTER_AUTH_SECRET, OPENAI_API_KEY, DEMO_PASSWORD (and DATABASE_URL). */}}
{{- define "todo-chatbot.secretName" -}}
{{- if .Values.secrets.existingSecret -}}
{{- .Values.secrets.existingSecret -}}
{{- else -}}
{{- include "todo-chatbot.componentName" (dict "root" . "component" "secrets") -}}
{{- end -}}
{{- end }}

{{/* True ("true") when the chart renders the app Secret itself. */}}
{{- define "todo-chatbot.createSecret" -}}
{{- if and .Values.secrets.create (not .Values.secrets.existingSecret) }}true{{ end -}}
{{- end }}

{{/*
Data of the chart-created app Secret (base64 values). BETTER_AUTH_SECRET is taken
from values, else kept from the Secret already in the cluster (lookup), else
generated, so upgrades never rotate it by accident.
*/}}
{{- define "todo-chatbot.secretData" -}}
{{- $name := include "todo-chatbot.secretName" . -}}
{{- $live := (lookup "v1" "Secret" .Release.Namespace $name) | default dict -}}
{{- $liveData := (get $live "data") | default dict -}}
{{- $s := .Values.secrets -}}
BETTER_AUTH_SECRET: {{ if $s.betterAuthSecret }}{{ $s.betterAuthSecret | b64enc | quote }}{{ else if (get $liveData "BETTER_AUTH_SECRET") }}{{ get $liveData "BETTER_AUTH_SECRET" | quote }}{{ else }}{{ randAlphaNum 48 | b64enc | quote }}{{ end }}
{{- with $s.openaiApiKey }}
OPENAI_API_KEY: {{ . | b64enc | quote }}
{{- end }}
DEMO_PASSWORD: {{ if $s.demoPassword }}{{ $s.demoPassword | b64enc | quote }}{{ else if (get $liveData "DEMO_PASSWORD") }}{{ get $liveData "DEMO_PASSWORD" | quote }}{{ else }}{{ randAlphaNum 24 | b64enc | quote }}{{ end }}
{{- with .Values.externalDatabase.url }}
DATABASE_URL: {{ . | b64enc | quote }}
{{- end }}
{{- end }}

{{/* PostgreSQL password Secret: name and key. */}}
{{- define "todo-chatbot.postgresql.secretName" -}}
{{- default (include "todo-chatbot.componentName" (dict "root" . "component" "postgresql")) .Values.postgresql.auth.existingSecret -}}
{{- end }}

{{- define "todo-chatbot.postgresql.secretKey" -}}
{{- .Values.postgresql.auth.secretKey -}}
{{- end }}

{{/* Password of the generated PostgreSQL Secret (base64): kept from the cluster, else generated once. */}}
{{- define "todo-chatbot.postgresql.password" -}}
{{- $name := include "todo-chatbot.postgresql.secretName" . -}}
{{- $live := (lookup "v1" "Secret" .Release.Namespace $name) | default dict -}}
{{- $liveData := (get $live "data") | default dict -}}
{{- $key := include "todo-chatbot.postgresql.secretKey" . -}}
{{- if (get $liveData $key) -}}
{{- get $liveData $key -}}
{{- else -}}
{{- randAlphaNum 32 | b64enc -}}
{{- end -}}
{{- end }}

{{/*
checksum/secret: changes exactly when the secret data a component's pods read changes,
so a changed key rolls the pods that read it and no others.
- the app Secret's keys the component reads: frontend BETTER_AUTH_SECRET and
  DEMO_PASSWORD; backend BETTER_AUTH_SECRET, OPENAI_API_KEY and, for an external
  database kept in the app Secret, its URL key; plus any key its extraEnv takes from
  the app Secret (keep this list in step with the deployment templates);
  chart-created Secret: from the values it is made from (a generated value is kept
  across upgrades, so it does not count); an existing Secret: its live data (lookup),
  so an upgrade after the Secret was changed rolls the pods;
- the backend's database Secret (PostgreSQL's existingSecret, or the external
  database's own Secret): its live data; the generated PostgreSQL password never
  changes after install: not counted.
`helm template` has no cluster, so lookups are empty there.
Call with (dict "root" $ "component" "frontend"|"backend").
*/}}
{{- define "todo-chatbot.secretChecksum" -}}
{{- $root := .root -}}
{{- $v := $root.Values -}}
{{- $backend := eq .component "backend" -}}
{{- $secretName := include "todo-chatbot.secretName" $root -}}
{{- $keys := list "BETTER_AUTH_SECRET" "DEMO_PASSWORD" -}}
{{- if $backend -}}
{{- $keys = list "BETTER_AUTH_SECRET" "OPENAI_API_KEY" -}}
{{- if and (not $v.postgresql.enabled) $v.externalDatabase.enabled (not $v.externalDatabase.existingSecret) -}}
{{- $keys = append $keys $v.externalDatabase.existingSecretKey -}}
{{- end -}}
{{- end -}}
{{- range (index $v .component).extraEnv -}}
{{- with .valueFrom }}{{ with .secretKeyRef }}{{ if eq .name $secretName }}{{ $keys = append $keys .key }}{{ end }}{{ end }}{{ end -}}
{{- end -}}
{{- $data := dict -}}
{{- if include "todo-chatbot.createSecret" $root -}}
{{- $data = dict "BETTER_AUTH_SECRET" $v.secrets.betterAuthSecret "OPENAI_API_KEY" $v.secrets.openaiApiKey "DEMO_PASSWORD" $v.secrets.demoPassword "DATABASE_URL" $v.externalDatabase.url -}}
{{- else -}}
{{- $live := (lookup "v1" "Secret" $root.Release.Namespace $secretName) | default dict -}}
{{- $data = (get $live "data") | default dict -}}
{{- end -}}
{{- $picked := dict -}}
{{- range $keys }}{{ $_ := set $picked . (get $data .) }}{{ end -}}
{{- $parts := list (toJson $picked) -}}
{{- if and $backend $v.postgresql.enabled $v.postgresql.auth.existingSecret -}}
{{- $live := (lookup "v1" "Secret" $root.Release.Namespace $v.postgresql.auth.existingSecret) | default dict -}}
{{- $parts = append $parts (toJson ((get $live "data") | default dict)) -}}
{{- else if and $backend $v.externalDatabase.enabled $v.externalDatabase.existingSecret -}}
{{- $live := (lookup "v1" "Secret" $root.Release.Namespace $v.externalDatabase.existingSecret) | default dict -}}
{{- $parts = append $parts (toJson ((get $live "data") | default dict)) -}}
{{- end -}}
{{- join "\n" $parts | sha256sum -}}
{{- end }}

{{/* ---------------------------------------------------------------- misc */}}

{{/* In-cluster database URL, with the password expanded by the kubelet from $(POSTGRES_PASSWORD). */}}
{{- define "todo-chatbot.postgresql.url" -}}
{{- $pg := .Values.postgresql -}}
{{- printf "postgresql://%s:$(POSTGRES_PASSWORD)@%s:%d/%s" $pg.auth.username (include "todo-chatbot.componentName" (dict "root" . "component" "postgresql")) (int $pg.service.port) $pg.auth.database -}}
{{- end }}

{{/* The backend Service URL the frontend calls. */}}
{{- define "todo-chatbot.backendUrl" -}}
{{- printf "http://%s:%d" (include "todo-chatbot.componentName" (dict "root" . "component" "backend")) (int .Values.backend.service.port) -}}
{{- end }}

{{/* True when the backend has no database server and falls back to SQLite in an emptyDir. */}}
{{- define "todo-chatbot.sqlite" -}}
{{- if not (or .Values.postgresql.enabled .Values.externalDatabase.enabled) }}true{{ end -}}
{{- end }}

{{/* Probe timing block from values: (dict "p" .Values.backend.probes.liveness) */}}
{{- define "todo-chatbot.probeTiming" -}}
initialDelaySeconds: {{ .p.initialDelaySeconds }}
periodSeconds: {{ .p.periodSeconds }}
timeoutSeconds: {{ .p.timeoutSeconds }}
failureThreshold: {{ .p.failureThreshold }}
{{- end }}

{{/*
Scheduling fields shared by every pod: (dict "c" .Values.backend "root" $ "component" "backend").
With c.spreadAcrossNodes, a soft podAntiAffinity on the hostname keeps replicas of one
workload apart where the cluster allows it, unless c.affinity brings its own.
*/}}
{{- define "todo-chatbot.scheduling" -}}
{{- with .c.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- $affinity := deepCopy (.c.affinity | default dict) -}}
{{- if and .c.spreadAcrossNodes (not (hasKey $affinity "podAntiAffinity")) -}}
{{- $selector := fromYaml (include "todo-chatbot.selectorLabels" (dict "root" .root "component" .component)) -}}
{{- $term := dict "weight" 100 "podAffinityTerm" (dict "topologyKey" "kubernetes.io/hostname" "labelSelector" (dict "matchLabels" $selector)) -}}
{{- $_ := set $affinity "podAntiAffinity" (dict "preferredDuringSchedulingIgnoredDuringExecution" (list $term)) -}}
{{- end }}
{{- with $affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .c.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .c.topologySpreadConstraints }}
topologySpreadConstraints:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .c.priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
{{- end }}
