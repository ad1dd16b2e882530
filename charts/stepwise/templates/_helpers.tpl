{{- define "stepwise.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "stepwise.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "stepwise.selectorLabels" -}}
app.kubernetes.io/name: {{ include "stepwise.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "stepwise.labels" -}}
{{ include "stepwise.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: stepwise
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{/* The Secret holding the controller-wide notification URLs, empty when there is none. */}}
{{- define "stepwise.notificationsSecret" -}}
{{- if .Values.notifications.existingSecret -}}
{{- .Values.notifications.existingSecret -}}
{{- else if or .Values.notifications.slackUrl .Values.notifications.webhookUrl -}}
{{- printf "%s-notifications" (include "stepwise.fullname" .) -}}
{{- end -}}
{{- end -}}

{{- define "stepwise.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "stepwise.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* Refuse values that need controller features not built yet, with the fix. */}}
{{- define "stepwise.checkValues" -}}
{{- if and (gt (int .Values.replicaCount) 1) (not .Values.leaderElection.enabled) -}}
{{- fail "replicaCount: more than 1 replica needs leader election (two controllers would race on the same writes); set leaderElection.enabled: true or replicaCount: 1" -}}
{{- end -}}
{{- if not (has .Values.logFormat (list "json" "text")) -}}
{{- fail (printf "logFormat: %q is not json or text" .Values.logFormat) -}}
{{- end -}}
{{- if not (has .Values.logLevel (list "error" "warn" "info" "debug")) -}}
{{- fail (printf "logLevel: %q is not error, warn, info or debug" .Values.logLevel) -}}
{{- end -}}
{{- if and .Values.prometheus.readAnySecret (not (empty .Values.prometheus.authSecretNames)) -}}
{{- fail "prometheus.readAnySecret: true lets the controller read every Secret, so prometheus.authSecretNames would restrict nothing; set one of them only" -}}
{{- end -}}
{{- end -}}

{{/*
What the controller does in the watched namespaces, and nothing more: src/kube/cluster.ts and
src/controller/controller.ts make every Kubernetes call (test/packaging/rbac.test.ts keeps the two in step).
*/}}
{{- define "stepwise.rules" -}}
# patch (metadata only): the finalizer that keeps <app>-stable serving when a Rollout is deleted, and the trigger
# webhook's record of the signatures it accepted (stepwise.dev/trigger-signatures), which every replica reads.
- apiGroups: [stepwise.dev]
  resources: [rollouts]
  verbs: [get, list, patch, watch]
- apiGroups: [stepwise.dev]
  resources: [rollouts/status]
  verbs: [patch]
- apiGroups: [apps]
  resources: [deployments]
  verbs: [create, get, list, patch, watch]
- apiGroups: [networking.istio.io]
  resources: [virtualservices]
  verbs: [get, list, patch, watch]
- apiGroups: [networking.istio.io]
  resources: [destinationrules]
  verbs: [get, list, watch]
- apiGroups: [gateway.networking.k8s.io]
  resources: [grpcroutes, httproutes]
  verbs: [get, list, patch, watch]
- apiGroups: [""]
  resources: [events]
  verbs: [create]
{{- if .Values.webDashboard.enabled }}
# The web dashboard's timeline: the Rollout's Events.
- apiGroups: [""]
  resources: [events]
  verbs: [list]
{{- end }}
# A host split's <app>-stable / <app>-canary Services (created when missing) and the app's Service (its ports).
- apiGroups: [""]
  resources: [services]
  verbs: [create, get]
{{- if or .Values.prometheus.readAnySecret (not (empty .Values.prometheus.authSecretNames)) }}
# Secrets named by Rollouts (spec.analysis.prometheus.*SecretRef, spec.notifications): only those listed, unless
# readAnySecret. With neither, no Secret at all.
- apiGroups: [""]
  resources: [secrets]
  verbs: [get]
  {{- with .Values.prometheus.authSecretNames }}
  resourceNames: {{ toJson . }}
  {{- end }}
{{- end }}
{{- end -}}
