# syntax=docker/dockerfile:1
#
# Quita production image.
#
#   docker build -t quita .
#   docker run -d --name quita -p 3000:3000 -v quita-data:/data \
#     -e SECRET_KEY="$(openssl rand -base64 48)" \
#     -e PUBLIC_URL=https://quita.example.com \
#     quita
#
# Runtime configuration is by environment variables (CONTRACT.md section 1), given at
# `docker run` time. None is baked in here except the container's own defaults below:
#   SECRET_KEY  REQUIRED: NODE_ENV=production refuses to start without it (>= 32
#               characters). It signs sessions and access tokens; keep it stable across
#               restarts and out of the image (pass it with -e/--env-file or a secret store).
#   PUBLIC_URL  set it to the public address: its default is http://HOST:PORT, which
#               inside the container is http://0.0.0.0:3000 and makes useless debtor links.
#   DATABASE_URL  unset: embedded PGlite under DATA_DIR (/data, a volume: mount one so
#               data outlives the container; one container only). Set: use that PostgreSQL
#               server, and run the background jobs in a second container with
#               `node dist/src/worker.js` (same image, same variables).
#   METRICS_TOKEN  /metrics answers only loopback clients otherwise, i.e. nobody outside
#               the container.
#   TRUST_PROXY, STRIPE_SECRET_KEY, STRIPE_WEBHOOK_SECRET, PAYMENTS_SANDBOX, REDIS_URL,
#   ADMIN_TOKEN, DPO_EMAIL, TZ_BUSINESS, LOG_LEVEL: see CONTRACT.md.
#
# SIGTERM drains requests for up to 10 s before the process gives up; give `docker stop`
# a little more than its default 10 s (`docker stop -t 15`, compose `stop_grace_period: 15s`).
#
# CI cannot run a Docker engine, so scripts/docker-check.sh replays this file's steps
# outside Docker and starts the result; it parses this file, so keep to the
# instructions it knows (FROM, WORKDIR, ENV, COPY, RUN of npm/mkdir/chown, USER,
# VOLUME, EXPOSE, HEALTHCHECK, CMD, LABEL, STOPSIGNAL).

# ---------------------------------------------------------------------------- build
FROM node:20.20.2-bookworm-slim AS build
WORKDIR /app

# Dependencies first, in their own layer: a source-only change does not reinstall them.
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci --no-audit --no-fund

COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# -------------------------------------------------------------------------- runtime
FROM node:20.20.2-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app

# The only writable place for the app: the data volume, owned by the unprivileged
# `node` user (uid 1000) that the official image provides. A named volume mounted here
# inherits this ownership; a bind-mounted host directory must be writable by uid 1000.
RUN mkdir -p /data && chown node:node /data

# Production dependencies only, exactly as locked.
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci --omit=dev --no-audit --no-fund

# What the app reads at run time: SQL migrations, templates and static files, the
# compiled code. Owned by root, so the app cannot rewrite itself.
COPY migrations ./migrations
COPY views ./views
COPY --from=build /app/dist ./dist

ENV HOST=0.0.0.0 \
    PORT=3000 \
    DATA_DIR=/data
VOLUME ["/data"]
USER node
EXPOSE 3000

# Liveness with node itself (the slim image has no curl or wget).
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/healthz', { signal: AbortSignal.timeout(4000) }).then((r) => process.exit(r.status === 200 ? 0 : 1), () => process.exit(1))"]

CMD ["node", "dist/src/server.js"]
