# syntax=docker/dockerfile:1
# Stepwise controller image. The `build` stage also runs the sandbox stack of docker-compose.yml (it needs tsx).

FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build
# The sandbox (test and demo infrastructure) only in this stage, for docker-compose.yml; never in the runtime image.
COPY sandbox ./sandbox

FROM node:24-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
# Production dependencies only; none of them needs an install script.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
# `stepwise` (and the kubectl plugin name) on PATH, for `kubectl exec ... -- stepwise status <rollout>`.
RUN ln -s /app/dist/cli/main.js /usr/local/bin/stepwise \
  && ln -s /app/dist/cli/main.js /usr/local/bin/kubectl-stepwise
# Files stay root-owned and read-only to the controller, which writes nothing (readOnlyRootFilesystem works).
# Numeric, so Kubernetes can verify runAsNonRoot; 1000 is the image's `node` user.
USER 1000:1000
EXPOSE 8080
# node runs as PID 1 and the controller handles SIGTERM itself: finishes the passes under way, then exits.
ENTRYPOINT ["node", "dist/cli/main.js"]
CMD ["controller"]
