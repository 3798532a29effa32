{{/* The labels of every object and pod template of one environment: rollgen's own, the release's, the
environment's (its profile's) and the environment name. Called with (dict "root" $ "env" $env). */}}
{{- define "hello.labels" -}}
{{- $labels := dict "app.kubernetes.io/managed-by" "rollgen" "app.kubernetes.io/name" .root.Values.name "rollgen.io/release" .root.Values.name "environment" .env.name -}}
{{- $labels = merge $labels .env.labels .root.Values.labels -}}
{{- toYaml $labels -}}
{{- end -}}
