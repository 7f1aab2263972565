# Kiln: make demo runs the main job; make test runs every test.
# Both install what is missing (Debian packages, Go modules) first.

SHELL   := /bin/bash
GO      ?= go
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X kiln/version.Version=$(VERSION)
PREFIX  ?= /usr/local
DESTDIR ?=

.DEFAULT_GOAL := help

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

setup: ## install missing Debian packages and Go modules (idempotent)
	@scripts/setup-debian.sh
	@$(GO) mod download

build: setup ## build bin/kilnd, bin/kiln-worker (the CPU worker kilnd starts per job) and bin/kiln
	$(GO) build -ldflags '$(LDFLAGS)' -o bin/kilnd ./cmd/kilnd
	$(GO) build -ldflags '$(LDFLAGS)' -o bin/kiln-worker ./cmd/kiln-worker
	$(GO) build -ldflags '$(LDFLAGS)' -o bin/kiln ./cmd/kiln

cuda: setup ## build bin/kiln-gpu-worker, the CUDA worker (installs CUDA from Debian non-free)
	@scripts/setup-debian.sh cuda
	$(GO) build -tags cuda -ldflags '$(LDFLAGS)' -o bin/kiln-gpu-worker ./cmd/kiln-gpu-worker

gpu-check: ## on a GPU machine: probe, bit-exact CPU/GPU parity, benchmarks -> bench/results/gpu-check-<date>/
	scripts/gpu-check.sh

kernels: ## regenerate the committed PTX from kernels/cuda/*.cu (clang-14)
	sh kernels/gen_ptx.sh

test: setup ## run every test (unit, kernels, end to end, GPU build and PTX checks)
	$(GO) vet ./...
	scripts/cuda-check.sh
	$(GO) vet -tags cuda ./gpu/ ./cmd/kiln-gpu-worker/
	$(GO) test -count=1 -timeout 25m ./...
	scripts/fuzz.sh
	$(GO) test -count=1 -race -timeout 10m ./config/... ./daemon/... ./job/... ./staging/... ./sdi/... ./api/... ./gpu/... ./hardware/... ./cmd/kiln/... ./systemd/...
	@echo "make test: all tests passed"

matrix: setup ## every README example profile on every generated source, two decoders -> README table, bench/results/matrix.md
	KILN_MATRIX=full $(GO) test -count=1 -timeout 120m -run 'TestConformanceMatrix' ./e2e/ -args -update-matrix

bench: build ## Kiln against the ffmpeg CLI, side by side in one run -> bench/results/latest.{md,json} and charts
	$(GO) run ./bench

soak: build ## hours of random drops, cancels, reloads and worker kills against a real kilnd (SOAK=1h); not in CI
	$(GO) run ./soak -duration $(or $(SOAK),1h)

man: build ## man pages and bash/zsh/fish completions, generated from the commands -> bin/man, bin/completions
	BIN=bin scripts/gen-docs.sh

install: build man ## install kilnd, kiln, their man pages and completions, the workers (libexec/kiln), the systemd units, sysusers/tmpfiles entries and /etc/kiln/kiln.toml (PREFIX, DESTDIR)
	PREFIX='$(PREFIX)' DESTDIR='$(DESTDIR)' scripts/install.sh

uninstall: ## remove what make install put; keeps /etc/kiln and /var/lib/kiln unless PURGE=1 (PREFIX, DESTDIR)
	PREFIX='$(PREFIX)' DESTDIR='$(DESTDIR)' PURGE='$(PURGE)' scripts/install.sh --uninstall

demo: build ## start kilnd under ./var, drop a generated clip, show progress and the outputs
	scripts/demo.sh

fresh-check: ## on a stock Debian 12 root (mmdebstrap, main only): clone, make demo, make test; prints their times (root)
	scripts/fresh-check.sh

clean: ## remove build outputs and the demo's ./var
	rm -rf bin var

.PHONY: help setup build cuda gpu-check kernels test matrix bench soak man install uninstall demo fresh-check clean
