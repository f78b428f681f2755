# syntax=docker/dockerfile:1
# The tnth image: `tnth worker` by default, `tnth starter` as the command. Compiled JavaScript on Node 24,
# production dependencies only, the workflow bundle built in advance, an unprivileged user.
#   docker build -t tnth .      docker run tnth starter
ARG NODE_IMAGE=node:24-slim

# Every dependency, the dev ones too: the TypeScript compiler, and tsx for the compose demo.
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund

# What `npm run build` does (without the tool installer it runs through), then the workflow bundle the
# worker would otherwise make with webpack at every start (WORKFLOW_BUNDLE_PATH below).
FROM deps AS build
COPY tsconfig.json tsconfig.build.json ./
COPY bin ./bin
COPY common ./common
COPY workflows ./workflows
COPY activities ./activities
COPY worker ./worker
COPY starter ./starter
RUN node_modules/.bin/tsc -p tsconfig.build.json \
  && node dist/bin/bundle-workflows.js dist/workflow-bundle.js

# Production dependencies alone: no compiler, linter, test runner or tsx where the service runs.
FROM ${NODE_IMAGE} AS prod-deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# docker-compose.yml's one-shot demo, run from source with tsx; never part of the service's image.
FROM build AS demo
COPY dev/compose/demo.ts dev/compose/demo-budget.ts dev/compose/demo-follow.ts ./dev/compose/
ENTRYPOINT ["node", "--import", "tsx", "dev/compose/demo.ts"]

# The service. Last, so a plain `docker build` makes it.
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    WORKFLOW_BUNDLE_PATH=/app/dist/workflow-bundle.js
WORKDIR /app
COPY --from=prod-deps /app/node_modules ./node_modules
COPY --from=build /app/package.json ./
COPY --from=build /app/dist ./dist
# The base image's `node` user, by number, so Kubernetes' runAsNonRoot can verify it without a passwd lookup.
USER 1000:1000
# Probes (/healthz, /readyz) and Prometheus metrics, when ENABLE_PROBES_SERVER / ENABLE_PROMETHEUS_SERVER.
EXPOSE 8080 9092
ENTRYPOINT ["node", "dist/bin/tnth.js"]
CMD ["worker"]
