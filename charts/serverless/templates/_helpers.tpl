{{/* Labels of every object of the chart. */}}
{{- define "serverless.labels" -}}
app.kubernetes.io/name: serverless
app.kubernetes.io/part-of: serverless
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
kyma-project.io/module: serverless
{{- end }}

{{/* Selector labels of the Function controller Pods (immutable: keep them stable). */}}
{{- define "serverless.controllerSelector" -}}
app.kubernetes.io/name: serverless
app.kubernetes.io/component: function-controller
{{- end }}

{{/* Labels of the Function controller objects. */}}
{{- define "serverless.controllerLabels" -}}
{{ include "serverless.labels" . }}
app.kubernetes.io/component: function-controller
{{- end }}

{{/* Name of the Function controller's ServiceAccount, ClusterRole and Deployment. */}}
{{- define "serverless.controllerName" -}}
serverless-function-controller
{{- end }}

{{/* Name of the Function controller's configuration ConfigMap. */}}
{{- define "serverless.configName" -}}
serverless-function-config
{{- end }}

{{/*
The Secret with the registry credentials and addresses, for build mode. Fails when build
mode has no registry, so that a broken configuration is never installed.
*/}}
{{- define "serverless.registrySecretName" -}}
{{- if and .Values.registry.secretName (not .Values.registry.enableInternal) -}}
{{- .Values.registry.secretName -}}
{{- else -}}
{{- required "registry.internalSecretName must name the DockerRegistry module's Secret" .Values.registry.internalSecretName -}}
{{- end -}}
{{- end }}
