# Kyma Serverless module with buildless mode.
# Binaries and tools are cached outside the checkout so fresh clones reuse them.

SHELL := /usr/bin/env bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

CACHE_DIR ?= $(or $(SERVERLESS_CACHE_DIR),$(if $(XDG_CACHE_HOME),$(XDG_CACHE_HOME),$(HOME)/.cache)/kyma-serverless)
TOOLS_BIN := $(CACHE_DIR)/tools
GO ?= go

tool_version = $(shell awk '$$1=="$(1)"{print $$2; exit}' tools/go.mod)
CONTROLLER_GEN := $(TOOLS_BIN)/controller-gen-$(call tool_version,sigs.k8s.io/controller-tools)
GOLANGCI_LINT := $(TOOLS_BIN)/golangci-lint-$(call tool_version,github.com/golangci/golangci-lint/v2)
HELM := $(TOOLS_BIN)/helm-$(call tool_version,helm.sh/helm/v3)

LOCALCLUSTER := $(GO) run ./test/cluster/cmd/localcluster
TEST_TIMEOUT ?= 80m

export SERVERLESS_CACHE_DIR := $(CACHE_DIR)

##@ General

.PHONY: help
help: ## Show this help.
	@awk 'BEGIN {FS = ":.*##"; printf "Usage: make \033[36m<target>\033[0m\n"} /^[a-zA-Z_0-9-]+:.*?##/ { printf "  \033[36m%-14s\033[0m %s\n", $$1, $$2 } /^##@/ { printf "\n\033[1m%s\033[0m\n", substr($$0, 5) }' $(MAKEFILE_LIST)

##@ Development

.PHONY: build
build: ## Build all binaries into bin/.
	$(GO) build -o bin/ ./cmd/...

.PHONY: manifests
manifests: $(CONTROLLER_GEN) ## Generate CRDs and RBAC from kubebuilder markers.
	$(CONTROLLER_GEN) crd paths=./api/... output:crd:artifacts:config=config/crd/bases
	$(CONTROLLER_GEN) rbac:roleName=serverless-operator paths=./controllers/serverless/... output:rbac:artifacts:config=config/rbac/serverless-operator
	$(CONTROLLER_GEN) rbac:roleName=function-controller paths=./controllers/function/... output:rbac:artifacts:config=config/rbac/function-controller
	cp config/crd/bases/serverless.kyma-project.io_functions.yaml charts/serverless/crds/functions.yaml
	cp config/rbac/function-controller/role.yaml charts/serverless/files/function-controller-rules.yaml

.PHONY: generate
generate: $(CONTROLLER_GEN) ## Generate deepcopy code for the API types.
	$(CONTROLLER_GEN) object paths=./api/...

.PHONY: lint
lint: $(GOLANGCI_LINT) ## Run golangci-lint and gofmt.
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GOLANGCI_LINT) run ./...

.PHONY: vet
vet: ## Run go vet.
	$(GO) vet ./...

##@ Testing

.PHONY: test
test: ## Run unit tests and the integration suites on the local cluster.
	$(LOCALCLUSTER) build
	$(GO) test -count=1 -timeout $(TEST_TIMEOUT) ./...

.PHONY: bench
bench: $(HELM) ## Run the benchmarks in test/perf and print their figures.
	SERVERLESS_BENCH=1 HELM_BIN=$(HELM) $(GO) test -timeout 120m -count=1 -v -run 'Bench' ./test/perf/...

##@ Local cluster

.PHONY: cluster-up
cluster-up: ## Start the local control plane with kwok nodes (kubeconfig path is printed).
	$(LOCALCLUSTER) up

.PHONY: cluster-down
cluster-down: ## Stop the local control plane started by cluster-up.
	$(LOCALCLUSTER) down

.PHONY: run
run: ## Run the module on the local cluster (or on $KUBECONFIG when set).
	$(GO) run ./test/run

##@ Tools

$(CONTROLLER_GEN):
	@mkdir -p $(TOOLS_BIN)
	cd tools && $(GO) build -o $@ sigs.k8s.io/controller-tools/cmd/controller-gen

$(GOLANGCI_LINT):
	@mkdir -p $(TOOLS_BIN)
	cd tools && $(GO) build -o $@ github.com/golangci/golangci-lint/v2/cmd/golangci-lint

$(HELM):
	@mkdir -p $(TOOLS_BIN)
	cd tools && $(GO) build -o $@ helm.sh/helm/v3/cmd/helm
