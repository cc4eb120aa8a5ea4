# Relay as a container: build the single binary with Bun, then run it alone on a small glibc base.

# The tag matches the "bun" version in package-lock.json (test/e2e/binary.test.ts checks it).
FROM oven/bun:1.4.5 AS build
WORKDIR /src
COPY package.json package-lock.json ./
# Bun reads package-lock.json (migrated in memory, versions kept); bundling needs no devDependencies, and no peer
# dependencies either (TypeScript, a peer of @elysiajs/openapi). Bun's install cache survives between builds, so a
# filled cache builds offline: `--mount=type=cache` needs BuildKit (Docker) or Buildah/Podman.
RUN --mount=type=cache,id=relay-bun-install,target=/root/.bun/install/cache \
    bun install --frozen-lockfile --production --omit=peer
COPY tsconfig.json ./
COPY src ./src
RUN bun run build
# Volume mount points owned by the runtime user: the run image has no shell to create them.
RUN mkdir -p /rootfs/data /rootfs/config

FROM gcr.io/distroless/base-debian12:nonroot
COPY --from=build --chown=65532:65532 /rootfs /
COPY --from=build /src/dist/relay /usr/local/bin/relay
# Numeric, so Kubernetes' runAsNonRoot can verify it.
USER 65532:65532
# Container defaults that win over the mounted YAML (README: "Environment overrides"); `-e NAME=` gives the YAML back.
ENV RELAY_CONFIG=/config/relay.yaml RELAY_PORT=8080 RELAY_HOST=0.0.0.0 RELAY_STORAGE_PATH=/data/relay.db
VOLUME ["/data", "/config"]
EXPOSE 8080
# `relay health` gives up after 3 s and says why, within the engine's 5 s; --published fails a loopback-only listener.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 CMD ["/usr/local/bin/relay", "health", "--published"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/relay"]
CMD ["serve"]
