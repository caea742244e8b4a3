# bpfscope web console (hub): unprivileged; keeps snapshots in /data.
FROM node:20-bookworm-slim AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.base.json ./
COPY packages ./packages
COPY apps ./apps
COPY e2e/package.json ./e2e/package.json
COPY bench/package.json ./bench/package.json
RUN npm ci --no-audit --no-fund -w @bpfscope/viz -w @bpfscope/web --include-workspace-root \
 && npx tsc -b packages/viz \
 && cd apps/web && NEXT_TELEMETRY_DISABLED=1 npx next build

FROM node:20-bookworm-slim
WORKDIR /app
COPY --from=build /app /app
ENV NODE_ENV=production \
    NEXT_TELEMETRY_DISABLED=1 \
    BPFSCOPE_DATA_DIR=/data \
    BPFSCOPE_WEB_HOST=0.0.0.0 \
    BPFSCOPE_WEB_PORT=3000
RUN mkdir -p /data && chown node:node /data
USER node
EXPOSE 3000
WORKDIR /app/apps/web
# The operator token is required when the console listens on a non-loopback address; the viewer
# token (optional secret) lets others browse and export.
CMD ["sh", "-c", "export BPFSCOPE_WEB_TOKEN=\"$(cat /run/secrets/bpfscope_web_token)\" && export BPFSCOPE_VIEW_TOKEN=\"$(cat /run/secrets/bpfscope_view_token 2>/dev/null)\" && exec node ../../node_modules/next/dist/bin/next start -H \"$BPFSCOPE_WEB_HOST\" -p \"$BPFSCOPE_WEB_PORT\""]
