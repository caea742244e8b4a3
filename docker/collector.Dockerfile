# bpfscope collector: loads BPF programs, so it runs privileged in the host PID namespace
# (see docker-compose.yml). BPF objects are compiled when the container starts, against the BTF of
# the kernel it actually runs on (/sys/kernel/btf/vmlinux, mounted read-only).
FROM node:20-bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends clang llvm bpftool libbpf-dev libbpf1 libelf-dev make gcc g++ python3 ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.base.json ./
COPY packages ./packages
COPY apps ./apps
COPY e2e/package.json ./e2e/package.json
COPY bench/package.json ./bench/package.json
RUN npm ci --no-audit --no-fund -w @bpfscope/viz -w @bpfscope/bpf -w @bpfscope/collector --include-workspace-root \
 && npx tsc -b packages/viz packages/bpf apps/collector
ENV NODE_ENV=production \
    BPFSCOPE_COLLECTOR_HOST=0.0.0.0 \
    BPFSCOPE_COLLECTOR_PORT=9700
EXPOSE 9700
CMD ["sh", "-c", "bash packages/bpf/build-bpf.sh && exec node apps/collector/bin/bpfscope.js serve"]
