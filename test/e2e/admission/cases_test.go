package admission

// refusal is a spec the API server must refuse, and (a part of) the message it must give.
type refusal struct {
	name    string
	spec    string // YAML of the spec
	message string
}

// The messages of the generic OpenAPI checks, as the API server words them.
const (
	msgRequired   = "Required value"
	msgString     = "must be of type string"
	msgBoolean    = "must be of type boolean"
	msgUnsupValue = "Unsupported value"
)

var invalidServerlessSpecs = []refusal{
	{"CPU utilization zero", `targetCPUUtilizationPercentage: "0"`,
		"targetCPUUtilizationPercentage must be a whole number from 1 to 100"},
	{"CPU utilization above 100", `targetCPUUtilizationPercentage: "101"`,
		"targetCPUUtilizationPercentage must be a whole number from 1 to 100"},
	{"CPU utilization not a number", `targetCPUUtilizationPercentage: "fifty"`,
		"targetCPUUtilizationPercentage must be a whole number from 1 to 100"},
	{"CPU utilization as a YAML number", `targetCPUUtilizationPercentage: 50`, msgString},
	{"requeue duration in words", `functionRequeueDuration: "5 minutes"`,
		"functionRequeueDuration must be a positive duration such as 5m"},
	{"requeue duration zero", `functionRequeueDuration: "0s"`,
		"functionRequeueDuration must be a positive duration such as 5m"},
	{"liveness timeout without unit", `healthzLivenessTimeout: "10"`,
		"healthzLivenessTimeout must be a positive duration such as 10s"},
	{"requeue duration too long to be sensible", `functionRequeueDuration: "999999h999999h999999h"`,
		"functionRequeueDuration must be a positive duration such as 5m"},
	{"liveness timeout negative", `healthzLivenessTimeout: "-10s"`,
		"healthzLivenessTimeout must be a positive duration such as 10s"},
	{"simultaneous jobs zero", `functionBuildMaxSimultaneousJobs: "0"`,
		"functionBuildMaxSimultaneousJobs must be a whole number from 1 to 999999"},
	{"simultaneous jobs as a word", `functionBuildMaxSimultaneousJobs: "five"`,
		"functionBuildMaxSimultaneousJobs must be a whole number from 1 to 999999"},
	{"simultaneous jobs negative", `functionBuildMaxSimultaneousJobs: "-3"`,
		"functionBuildMaxSimultaneousJobs must be a whole number from 1 to 999999"},
	{"unknown build preset", `defaultBuildJobPreset: huge`,
		`supported values: "local-dev", "slow", "normal", "fast"`},
	{"unknown runtime preset", `defaultRuntimePodPreset: XXL`,
		`supported values: "XS", "S", "M", "L", "XL"`},
	{"unknown log level", `logLevel: verbose`,
		`supported values: "debug", "info", "warn", "error", "panic", "fatal"`},
	{"unknown log format", `logFormat: xml`, `supported values: "json", "console"`},
	{"tracing endpoint not a URL", "tracing:\n  endpoint: not a url",
		"endpoint must be empty or an http(s) URL with a host"},
	{"eventing endpoint with another scheme", "eventing:\n  endpoint: ftp://publisher.kyma-system/publish",
		"endpoint must be empty or an http(s) URL with a host"},
	{"tracing without endpoint", "tracing: {}", msgRequired},
	{"registry secret name with capitals", "dockerRegistry:\n  secretName: My_Registry",
		"secretName must be a valid Secret name"},
	{"internal registry switch as a string", "dockerRegistry:\n  enableInternal: \"yes\"", msgBoolean},
}

// validInline is the spec of a valid inline nodejs22 Function; cases append fields to it.
const validInline = `runtime: nodejs22
source:
  inline:
    source: |
      module.exports = { main: function (event, context) { return "hello" } }
`

var invalidFunctionSpecs = []refusal{
	{"unknown runtime", "runtime: nodejs18\nsource:\n  inline:\n    source: x",
		`supported values: "nodejs20", "nodejs22", "nodejs24", "python312"`},
	{"no runtime", "source:\n  inline:\n    source: x", "spec.runtime: " + msgRequired},
	{"no source kind", "runtime: nodejs22\nsource: {}",
		"source must set exactly one of inline or gitRepository"},
	{"inline and git source", `runtime: nodejs22
source:
  inline:
    source: x
  gitRepository:
    url: https://github.com/kyma-project/serverless.git`,
		"source must set exactly one of inline or gitRepository"},
	{"blank inline source", "runtime: nodejs22\nsource:\n  inline:\n    source: \"  \\n \"",
		"source.inline.source must not be empty"},
	{"inline without source", "runtime: nodejs22\nsource:\n  inline:\n    dependencies: \"{}\"",
		"spec.source.inline.source: " + msgRequired},
	{"git URL with spaces", "runtime: nodejs22\nsource:\n  gitRepository:\n    url: https://github.com/my org/repo",
		"gitRepository.url must be a non-empty URL without whitespace"},
	{"git auth type unknown", `runtime: python312
source:
  gitRepository:
    url: https://github.com/kyma-project/serverless.git
    auth:
      type: token
      secretName: git-creds`, `supported values: "basic", "key"`},
	{"git auth without secret", `runtime: python312
source:
  gitRepository:
    url: git@github.com:kyma-project/serverless.git
    auth:
      type: key`, "spec.source.gitRepository.auth.secretName: " + msgRequired},
	{"reserved env FUNC_RUNTIME", validInline + "env:\n- name: FUNC_RUNTIME\n  value: nodejs18",
		"env must not set the reserved names FUNC_RUNTIME, FUNC_HANDLER, FUNC_PORT"},
	{"reserved env NODE_PATH", validInline + "env:\n- name: GREETING\n  value: hi\n- name: NODE_PATH\n  value: /tmp",
		"env must not set the reserved names"},
	{"function profile and resources", validInline + `resourceConfiguration:
  function:
    profile: S
    resources:
      limits:
        memory: 128Mi`, "resourceConfiguration.function must set exactly one of profile or resources"},
	{"empty function resources", validInline + "resourceConfiguration:\n  function: {}",
		"resourceConfiguration.function must set exactly one of profile or resources"},
	{"unknown function profile", validInline + "resourceConfiguration:\n  function:\n    profile: XXL",
		`supported values: "XS", "S", "M", "L", "XL"`},
	{"build profile and resources", validInline + `resourceConfiguration:
  build:
    profile: fast
    resources:
      requests:
        cpu: 100m`, "resourceConfiguration.build must set exactly one of profile or resources"},
	{"unknown build profile", validInline + "resourceConfiguration:\n  build:\n    profile: turbo",
		`supported values: "local-dev", "slow", "normal", "fast"`},
	{"negative replicas", validInline + "replicas: -1", "should be greater than or equal to 0"},
	{"min replicas above max", validInline + "scaleConfig:\n  minReplicas: 5\n  maxReplicas: 2",
		"scaleConfig.minReplicas must not be greater than scaleConfig.maxReplicas"},
	{"zero min replicas", validInline + "scaleConfig:\n  minReplicas: 0\n  maxReplicas: 2",
		"should be greater than or equal to 1"},
	{"secret mount path twice", validInline + `secretMounts:
- secretName: first
  mountPath: /etc/creds
- secretName: second
  mountPath: /etc/creds`, "secretMounts must not use the same mountPath twice"},
	{"relative secret mount path", validInline + "secretMounts:\n- secretName: creds\n  mountPath: etc/creds",
		"secretMounts.mountPath must be an absolute path"},
	{"reserved label prefix", validInline + "labels:\n  serverless.kyma-project.io/function-name: other",
		"labels must not use the reserved prefix serverless.kyma-project.io/"},
	{"reserved annotation prefix", validInline + "annotations:\n  serverless.kyma-project.io/buildless-mode: disabled",
		"annotations must not use the reserved prefix serverless.kyma-project.io/"},
}

var invalidDockerRegistrySpecs = []refusal{
	{"PVC without name", "storage:\n  pvc: {}", "spec.storage.pvc.name: " + msgRequired},
	{"PVC name with capitals", "storage:\n  pvc:\n    name: Registry_Data", "pvc.name must be a valid PersistentVolumeClaim name"},
	{"external access switch as a string", "externalAccess:\n  enabled: \"true\"", msgBoolean},
}

// acceptance is a manifest that must be stored exactly as written (apart from the listed
// defaults that the schema adds).
type acceptance struct {
	name     string
	manifest string
	defaults map[string]any // spec fields the API server adds
}

var validManifests = []acceptance{
	{name: "default Serverless with empty spec", manifest: `apiVersion: operator.kyma-project.io/v1alpha1
kind: Serverless
metadata:
  name: default
spec: {}
`},
	{name: "Serverless with an external registry and overrides", manifest: `apiVersion: operator.kyma-project.io/v1alpha1
kind: Serverless
metadata:
  name: configured
  annotations:
    serverless.kyma-project.io/buildless-mode: disabled
  finalizers:
  - serverless-operator.kyma-project.io/deletion-hook
spec:
  dockerRegistry:
    enableInternal: false
    secretName: my-secret
  eventing:
    endpoint: http://eventing-publisher-proxy.kyma-system.svc.cluster.local/publish
  tracing:
    endpoint: http://telemetry-otlp-traces.kyma-system.svc.cluster.local:4318/v1/traces
  targetCPUUtilizationPercentage: "50"
  functionRequeueDuration: 5m
  functionBuildExecutorArgs: "--insecure,--skip-tls-verify,--skip-unused-stages,--log-format=text,--cache=true"
  functionBuildMaxSimultaneousJobs: "5"
  healthzLivenessTimeout: "10s"
  defaultBuildJobPreset: normal
  defaultRuntimePodPreset: M
  logLevel: debug
  logFormat: console
  enableNetworkPolicies: true
`},
	{name: "Serverless with tracing turned off", manifest: `apiVersion: operator.kyma-project.io/v1alpha1
kind: Serverless
metadata:
  name: no-tracing
spec:
  tracing:
    endpoint: ""
  functionRequeueDuration: 1h30m
  healthzLivenessTimeout: 500ms
  targetCPUUtilizationPercentage: "100"
`},
	{name: "inline nodejs22 Function with dependencies", manifest: `apiVersion: serverless.kyma-project.io/v1alpha2
kind: Function
metadata:
  name: my-test-function
  labels:
    app: my-test-function
spec:
  runtime: nodejs22
  source:
    inline:
      dependencies: |
        {
          "name": "hellowithdeps",
          "version": "0.0.1",
          "dependencies": {
            "end-of-stream": "^1.4.1",
            "from2": "^2.3.0",
            "lodash": "^4.17.5"
          }
        }
      source: |
        module.exports = {
          main: function(event, context) {
            const name = process.env.PERSON_NAME;
            return 'Hello ' + name;
          }
        }
  resourceConfiguration:
    function:
      resources:
        limits:
          cpu: 1
          memory: 1Gi
        requests:
          cpu: 500m
          memory: 500Mi
  env:
    - name: PERSON_NAME
      value: "John"
  secretMounts:
    - secretName: my-secret
      mountPath: /secret/mount/path
`, defaults: map[string]any{"replicas": int64(1)}},
	{name: "inline python312 Function with a profile and autoscaling", manifest: `apiVersion: serverless.kyma-project.io/v1alpha2
kind: Function
metadata:
  name: python-function
spec:
  runtime: python312
  source:
    inline:
      dependencies: |
        requests==2.32.3
      source: |
        def main(event, context):
            return "Hello from Python"
  resourceConfiguration:
    function:
      profile: S
    build:
      profile: fast
  replicas: 2
  scaleConfig:
    minReplicas: 1
    maxReplicas: 3
  env:
    - name: FROM_SECRET
      valueFrom:
        secretKeyRef:
          name: my-secret
          key: value
  labels:
    team: payments
  annotations:
    example.com/owner: payments
`},
	{name: "Git Function with basic auth", manifest: `apiVersion: serverless.kyma-project.io/v1alpha2
kind: Function
metadata:
  name: git-function
spec:
  source:
    gitRepository:
      url: github.com/username/repo
      baseDir: "/"
      reference: "branchA"
      auth:
        type: basic
        secretName: secret-name
  runtime: "nodejs24"
`, defaults: map[string]any{"replicas": int64(1)}},
	{name: "Git Function with an SSH key", manifest: `apiVersion: serverless.kyma-project.io/v1alpha2
kind: Function
metadata:
  name: git-ssh-function
spec:
  runtime: nodejs20
  source:
    gitRepository:
      url: git@github.com:kyma-project/serverless.git
      baseDir: examples/hello
      reference: main
      auth:
        type: key
        secretName: git-ssh-key
  replicas: 0
`},
	{name: "default DockerRegistry", manifest: `apiVersion: operator.kyma-project.io/v1alpha1
kind: DockerRegistry
metadata:
  name: default
spec: {}
`},
	{name: "DockerRegistry on an existing PVC, exposed", manifest: `apiVersion: operator.kyma-project.io/v1alpha1
kind: DockerRegistry
metadata:
  name: on-pvc
spec:
  storage:
    deleteEnabled: true
    pvc:
      name: registry-data
  externalAccess:
    enabled: true
`},
}
