# syntax=docker/dockerfile:1
# abproxy container image: TypeScript compiled in a build stage, production dependencies only in the
# runtime stage (onnxruntime-node's CPU binaries ship inside its npm package; .npmrc skips its GPU download),
# running as the non-root "node" user. Config: mount yours at /etc/abproxy/abproxy.yaml (a directory mount
# hot-reloads); the default one serves the demo models in /app/models.
ARG NODE_IMAGE=node:22-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json .npmrc ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

FROM ${NODE_IMAGE}
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY package.json ./
COPY config ./config
COPY models ./models
COPY deploy/kubernetes/abproxy.yaml /etc/abproxy/abproxy.yaml
RUN mkdir -p /app/data && chown node:node /app/data
USER node
# 8080: data plane; 9901: admin (/metrics, /healthz, /readyz, /admin/*). The admin address is not loopback
# in a container, so the default config needs ABPROXY_ADMIN_TOKEN (docker run -e ABPROXY_ADMIN_TOKEN=...).
EXPOSE 8080 8081 9901
VOLUME ["/app/data"]
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:9901/readyz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "dist/cli/main.js"]
CMD ["serve", "-c", "/etc/abproxy/abproxy.yaml", "--workers", "auto"]
