# syntax=docker/dockerfile:1
#
# WhatsApp CRM: ONE image holding every executable (gateway, normalizer,
# crm-matcher, sender, reporter, crmctl, wa-simulator). The container's
# command names the one to run:
#
#   docker build -t whatsapp-crm .
#   docker run --rm whatsapp-crm crmctl migrate
#   docker run --rm -p 8080:8080 whatsapp-crm gateway
#   docker run --rm whatsapp-crm normalizer      (or crm-matcher, sender, reporter)
#
# Why one image: the seven executables share ~95% of their code and every
# dependency (SwiftNIO, PostgresNIO, librdkafka), one `swift build` compiles
# them all, and one tag means every service and the migration job always run
# the same schema and wire-format version. Docs: docs/DEPLOY.md.
#
# Building needs network access to GitHub (Swift package resolution) and to
# Debian's package mirrors. Pin SWIFT_IMAGE / RUNTIME_IMAGE to digests for
# reproducible production builds. Both stages must be the same Debian release
# (bookworm): the binaries link Debian's librdkafka and glibc.

ARG SWIFT_IMAGE=swift:6.3-bookworm
ARG RUNTIME_IMAGE=debian:bookworm-slim

# ---------------------------------------------------------------------------
# build: Swift toolchain + librdkafka headers
# ---------------------------------------------------------------------------
FROM ${SWIFT_IMAGE} AS build
SHELL ["/bin/bash", "-o", "pipefail", "-c"]

# Debian's librdkafka-dev (headers + pkg-config file for the CRdKafka target).
# Versions are not pinned: they come from the pinned Debian release and its
# security updates.
# hadolint ignore=DL3008
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        librdkafka-dev libssl-dev pkg-config \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /src

# Resolve packages first, in their own layer, so that a source change does not
# download them again. Package.resolved is used when the build context has one.
COPY Package.* ./
RUN swift package resolve

COPY Shared ./Shared
COPY Services ./Services
COPY Tools ./Tools
# Test targets are declared in Package.swift, so their folders must exist
# (nothing in them is built by `swift build`).
COPY Tests ./Tests

# Every product in release mode, then into /out:
# - the executables, debug info stripped (symbols stay, so crash backtraces
#   name functions);
# - the Swift runtime libraries they load (Foundation, ICU data, dispatch...),
#   once for all seven. Linking the runtime dynamically and sharing it keeps
#   the image about 2.5x smaller than `--static-swift-stdlib`, which would put
#   a copy of Foundation and ICU (~75 MB) into each of the seven binaries
#   (measured with Swift 6.3.1: ~300 MB vs ~735 MB uncompressed);
# - the static crash backtracer (see SWIFT_BACKTRACE below).
RUN swift build -c release \
    && bin="$(swift build -c release --show-bin-path)" \
    && mkdir -p /out/bin /out/swift-lib \
    && for exe in gateway normalizer crm-matcher sender reporter crmctl wa-simulator; do \
        install -m 0755 "${bin}/${exe}" /out/bin/ \
        && strip --strip-debug "/out/bin/${exe}" ; \
    done \
    && ldd /out/bin/* | awk '$3 ~ "/lib/swift/linux/" { print $3 }' | sort -u \
        | xargs -r -I '{}' cp -L '{}' /out/swift-lib/ \
    && install -m 0755 /usr/libexec/swift/linux/swift-backtrace-static /out/bin/swift-backtrace-static

# ---------------------------------------------------------------------------
# runtime: Debian slim + librdkafka, non-root
# ---------------------------------------------------------------------------
FROM ${RUNTIME_IMAGE} AS runtime
SHELL ["/bin/bash", "-o", "pipefail", "-c"]

LABEL org.opencontainers.image.title="whatsapp-crm" \
      org.opencontainers.image.description="WhatsApp CRM backend: gateway, workers, crmctl and wa-simulator in one image"

# librdkafka1: the Kafka client (pulls libssl3, libsasl2, libzstd, liblz4).
# Besides it and the Swift runtime copied below, the executables need only
# glibc, libstdc++ and libgcc_s (checked with ldd on release builds).
# ca-certificates: TLS to graph.facebook.com, managed Kafka and PostgreSQL.
# curl: the HEALTHCHECK below and operators' debugging.
# tini: PID 1 that forwards SIGTERM to the service and reaps children.
# libstdc++6 is already part of the slim image (apt needs it); listed so that
# a different base image cannot silently drop it.
# hadolint ignore=DL3008
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        librdkafka1 ca-certificates curl tini libstdc++6 \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 crm \
    && useradd --system --uid 10001 --gid crm --home-dir /app --shell /usr/sbin/nologin crm

WORKDIR /app
# The Swift runtime, registered with the dynamic loader (so it does not
# depend on where the build image's toolchain lives).
COPY --from=build /out/swift-lib/ /usr/lib/swift/linux/
COPY --from=build /out/bin/ /usr/local/bin/

# Fail the build, not the first start, if any executable misses a library.
RUN echo /usr/lib/swift/linux > /etc/ld.so.conf.d/swift.conf \
    && ldconfig \
    && for exe in gateway normalizer crm-matcher sender reporter crmctl wa-simulator; do \
        if ldd "/usr/local/bin/${exe}" | grep 'not found'; then \
            echo "${exe}: missing shared libraries (above)" >&2; exit 1; \
        fi; \
    done

# Crash reports: Swift's backtracer prints every thread's stack to stderr.
ENV SWIFT_BACKTRACE=enable=yes,sanitize=yes,threads=all,images=all,interactive=no,swift-backtrace=/usr/local/bin/swift-backtrace-static \
    LOG_LEVEL=info

# Numeric user, so that Kubernetes' runAsNonRoot can verify it.
USER 10001:10001

# gateway and wa-simulator listen on HTTP_PORT (8080 / 8090); workers serve
# /healthz, /readyz, /metrics on ADMIN_PORT (9101..9104).
EXPOSE 8080 8090 9101 9102 9103 9104

# One image, several services: probe the port this container's service uses
# (ADMIN_PORT for workers, HTTP_PORT for gateway and simulator), then the
# defaults. Kubernetes ignores HEALTHCHECK and uses the Deployments' probes.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["/bin/sh", "-c", "for port in ${ADMIN_PORT:-} ${HTTP_PORT:-} 8080 9101 9102 9103 9104 8090; do curl -fsS --max-time 2 -o /dev/null http://127.0.0.1:${port}/healthz && exit 0; done; exit 1"]

ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["gateway"]
