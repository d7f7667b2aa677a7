# DevID Ledger image: the ledger API, and with RELAY_ENABLED / REVOKE_CONSUMER_ENABLED the
# worker (lifecycle relay + revoke-command consumer); the `devid` CLI is in it too.
#   docker build -t devid-ledger .        (docker-compose.yml builds it for you)
# Node 24 comes from the base image: the node@24 devDependency (how the repository gets
# Node 24 without one) is not installed here.

# --- build: full install (dev tools: TypeScript), compile every project reference
FROM node:24-bookworm-slim AS build
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
# Manifests first, so the install layer is reused while only sources change. Every workspace
# (libs/*, apps/*) must be listed: test/eventstoredb/production-shape.spec.ts checks it.
COPY package.json package-lock.json ./
COPY libs/domain/package.json libs/domain/
COPY libs/event-store/package.json libs/event-store/
COPY libs/projections/package.json libs/projections/
COPY libs/pki/package.json libs/pki/
COPY libs/messaging/package.json libs/messaging/
COPY libs/audit/package.json libs/audit/
COPY libs/factory/package.json libs/factory/
COPY apps/ledger/package.json apps/ledger/
COPY apps/cli/package.json apps/cli/
# --ignore-scripts: no node@24 download (the image has Node 24) and no `prepare` build before the sources are here.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.base.json tsconfig.json ./
COPY libs libs
COPY apps apps
RUN npx tsc -b apps/ledger/tsconfig.app.json apps/cli/tsconfig.app.json

# --- production dependencies only, native addons built against this image's Node
FROM node:24-bookworm-slim AS deps
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY --from=build /app/package.json /app/package-lock.json ./
COPY --from=build /app/libs libs
COPY --from=build /app/apps apps
# pkcs11js (optional: PKCS#11 CA keys) is the one addon compiled here; @kurrent/bridge ships
# prebuilt binaries (linux-x64/arm64, gnu and musl) as optional dependencies.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && (npm rebuild pkcs11js || echo "pkcs11js not built: PKCS#11 keys unavailable") \
 && find libs apps -name src -prune -o -name '*.tsbuildinfo' -print | xargs rm -f \
 && rm -rf libs/*/src apps/*/src

# --- runtime
FROM node:24-bookworm-slim
ENV NODE_ENV=production HOST=0.0.0.0 PORT=3000 DATA_DIR=/data
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /data && chown node:node /data
WORKDIR /app
COPY --from=deps --chown=node:node /app /app
USER node
VOLUME ["/data"]
EXPOSE 3000 8443
# node's fetch: no curl in the image.
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=6 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "apps/ledger/dist/main.js"]
