# Fleetscope. `make demo` and `make test` install what is missing (as root), build, and run.
SHELL := /bin/bash
export PATH := /opt/swift/usr/bin:$(PATH)

# Debian packages: C libraries we link, and the real peers the tests and benchmarks run against.
DEBS := libsnappy-dev libprotobuf-c-dev libre2-dev zlib1g-dev libyaml-dev protobuf-c-compiler libsqlite3-dev pkg-config \
        prometheus victoria-metrics prometheus-node-exporter prometheus-alertmanager chromium openssl curl nodejs \
        podman buildah umoci slapd ldap-utils python3-venv postgresql procps

.PHONY: oidc-provider deps build release test js-check test-deploy images demo bench clean
deps:
	@missing=$$(for p in $(DEBS); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing: $$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else \
	    echo "missing Debian packages; run: sudo apt-get update && sudo apt-get install -y $$missing"; exit 1; \
	  fi; \
	fi
	@command -v swift >/dev/null || { echo "swift not found: install Swift 6.3 (e.g. under /opt/swift)"; exit 1; }

# The single sign-on end-to-end test runs a real OpenID Connect provider: idpyoidc from PyPI in a venv under .build.
oidc-provider: deps
	Tests/EndToEndTests/OIDCProvider/venv.sh >/dev/null

build: deps
	swift build

# Every function and datum in a section of its own (Swift, and the C of BoringSSL, llhttp, snappy...),
# so the linker's --gc-sections drops what nothing calls and the edge's order file
# (Package.swift) can lay out each function, not whole modules: the edge agent's resident text
# falls by ~0.3 MiB (docs/benchmarks.md, "Issue 15, sixth round"). Both products take the same
# flags, so the modules they share are built once. -Xfrontend: swift build 6.3 passes -Xswiftc flags
# to a command of its own too, which stops on a bare -function-sections ("unknown argument").
RELEASE_FLAGS := -Xswiftc -Xfrontend -Xswiftc -function-sections -Xcc -ffunction-sections -Xcc -fdata-sections

release: deps
	swift build -c release $(RELEASE_FLAGS)

# One debug build serves both: the end-to-end tests run the binaries in .build/debug.
# Tests run one at a time, the end-to-end ones last: several tests wait on real child processes
# (promtool, Prometheus, node_exporter, Chromium) through blocking calls, and on a 2-core machine
# two of those at once starve Swift's cooperative pool, so an unrelated test's in-process server
# cannot answer before its 10 s timeout.
test: deps js-check oidc-provider
	swift build
	swift test --skip EndToEndTests --no-parallel
	swift test --skip-build --filter EndToEndTests --no-parallel
	$(MAKE) test-deploy

# Deployment checks on the debug binaries (about 20 s): ldd, snapshot/restore, systemd units, kustomize bases,
# images (built FROM scratch, unpacked, run in a chroot; skipped without podman/umoci).
test-deploy:
	deploy/test/ldd.sh .build/debug
	deploy/test/snapshot-restore.sh .build/debug
	deploy/test/systemd.sh .build/debug
	deploy/test/kubernetes.sh .build/debug
	deploy/test/images.sh .build/debug

# OCI images of both binaries from the release build (podman, buildah, umoci from Debian).
images: release
	deploy/image/build.sh .build/release

# The dashboard's JavaScript is served as written (Sources/Dashboard/Web, embedded in the binary):
# node checks every file's syntax, the ES modules as modules and theme.js as the classic script it
# is, then runs the unit tests of the modules without DOM.
WEB := Sources/Dashboard/Web
js-check: deps
	@for f in $(WEB)/*.js; do \
	  if [ "$$f" = $(WEB)/theme.js ]; then t=commonjs; else t=module; fi; \
	  node --check --input-type=$$t < "$$f" || { echo "$$f: JavaScript syntax error (above)"; exit 1; }; \
	done
	node --test Tests/DashboardTests/js/*.test.mjs

demo: release
	./scripts/demo.sh

# Benchmarks against the real peers (Prometheus 2.42, VictoriaMetrics, vmagent); see docs/benchmarks.md.
# Each script builds bench/ (fleetbench) if needed and takes the binaries from .build/release.
bench: release
	./bench/ingest/run.sh
	./bench/query/run.sh
	./bench/edge/run.sh
	./bench/dashboard/run.sh
	./bench/admission/run.sh

clean:
	rm -rf .build data
