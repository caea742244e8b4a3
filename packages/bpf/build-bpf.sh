#!/usr/bin/env bash
# Compile the CO-RE BPF programs of @bpfscope/bpf.
#   build/vmlinux.h      generated from the running kernel's BTF (bpftool), regenerated when the BTF changes
#   build/<tool>.bpf.o   one object per src/c/<tool>.bpf.c (clang -O2 -g -target bpf -mcpu=v3: atomics with a
#                        result, e.g. the CFI walker's stack ids, need BPF ISA v3, kernel 5.12+)
# Idempotent: an object is rebuilt only when its sources, the shared headers or vmlinux.h are newer.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
src="$here/src/c"
out="$here/build"
mkdir -p "$out"

for tool in clang bpftool; do
  command -v "$tool" >/dev/null 2>&1 || { echo "build-bpf.sh: '$tool' not found; install it (apt-get install -y clang bpftool)" >&2; exit 1; }
done
btf="${BPFSCOPE_BTF:-/sys/kernel/btf/vmlinux}"
if [[ ! -r "$btf" ]]; then
  echo "build-bpf.sh: no kernel BTF at $btf; a kernel built with CONFIG_DEBUG_INFO_BTF=y is required (or set BPFSCOPE_BTF to a BTF file)" >&2
  exit 1
fi
libbpf_inc=/usr/include
if [[ ! -r "$libbpf_inc/bpf/bpf_helpers.h" ]]; then
  echo "build-bpf.sh: libbpf headers missing (/usr/include/bpf/bpf_helpers.h); apt-get install -y libbpf-dev" >&2
  exit 1
fi

# vmlinux.h: regenerate when absent or when the BTF differs from the one it came from.
btf_sum="$(sha1sum "$btf" | cut -d' ' -f1)"
if [[ ! -s "$out/vmlinux.h" || "$(cat "$out/vmlinux.h.sha1" 2>/dev/null)" != "$btf_sum" ]]; then
  bpftool btf dump file "$btf" format c > "$out/vmlinux.h.tmp"
  mv "$out/vmlinux.h.tmp" "$out/vmlinux.h"
  echo "$btf_sum" > "$out/vmlinux.h.sha1"
  echo "build-bpf.sh: generated build/vmlinux.h from $btf"
fi

shared=("$src"/*.h "$out/vmlinux.h")
arch="${BPFSCOPE_TARGET_ARCH:-x86}"
built=0
for c in "$src"/*.bpf.c; do
  name="$(basename "$c" .bpf.c)"
  obj="$out/$name.bpf.o"
  stale=0
  if [[ ! -s "$obj" ]]; then stale=1; else
    for dep in "$c" "${shared[@]}"; do [[ "$dep" -nt "$obj" ]] && { stale=1; break; }; done
  fi
  (( stale )) || continue
  clang -O2 -g -target bpf -mcpu=v3 -D__TARGET_ARCH_"$arch" -Wall -Wno-unused-function \
    -I"$out" -I"$src" -I"$libbpf_inc" -c "$c" -o "$obj.tmp"
  mv "$obj.tmp" "$obj"
  built=$((built + 1))
  echo "build-bpf.sh: built build/$name.bpf.o"
done
(( built )) || echo "build-bpf.sh: BPF objects up to date"
