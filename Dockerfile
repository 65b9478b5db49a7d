# ---- build: full dependency tree, compile TypeScript to dist/ ----
FROM node:20-bookworm-slim AS build
WORKDIR /app
# Manifests first so the npm ci layer is reused while only source changes.
COPY package.json package-lock.json ./
RUN npm ci
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY plugins ./plugins
COPY routes ./routes
RUN npm run build

# ---- deps: production dependencies only, in their own stage so npm's cache stays out of the image ----
FROM node:20-bookworm-slim AS deps
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev && npm cache clean --force

# ---- runtime ----
FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
# Files stay owned by root: the non-root process can read its code but not rewrite it.
# package.json is needed at run time: its "type": "module" makes dist/*.js load as ES modules.
COPY package.json ./
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
USER node
EXPOSE 5001
# Liveness through node's own fetch: slim images have no curl or wget.
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||5001)+'/health',{signal:AbortSignal.timeout(3000)}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# Exec form: node is PID 1 and receives SIGTERM itself, so the graceful shutdown in server.ts runs.
CMD ["node", "dist/src/server.js"]
