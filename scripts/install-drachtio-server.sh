#!/usr/bin/env bash
# Builds drachtio-server from source and installs it as `drachtio` on PATH.
#
#   scripts/install-drachtio-server.sh [SOURCE]
#
# SOURCE is a source archive (.tar.xz/.tar.gz, submodules included) or a source
# directory (a git checkout with its submodules, or an unpacked archive). Without
# it: $UNDERSTUDY_DRACHTIO_SOURCE, else the archive vendored beside the project
# (../shared/vendor/drachtio-server/*.tar.xz, what CI uses), else a git clone of
# the public repository at the pinned commit (needs network access).
#
# drachtio-server is in no package registry, hence a build. The result is cached
# under $UNDERSTUDY_CACHE (default /var/cache/understudy) keyed by the source's
# sha256 (an archive) or commit (a git checkout), so a second run takes seconds.
# Installs into $PREFIX/bin (default /usr/local/bin). Needs root for apt-get
# when build dependencies are missing.
set -euo pipefail

PINNED_COMMIT=9c2dd4cb6ae7c86fc494f028d35ea3381e311e38
PINNED_VERSION=v0.9.10-1-g9c2dd4cb6a
REPOSITORY=https://github.com/drachtio/drachtio-server.git
BUILD_DEPS=(build-essential autoconf automake libtool libtool-bin cmake pkg-config libssl-dev
  libcurl4-openssl-dev zlib1g-dev libboost-all-dev libgoogle-perftools-dev git xz-utils)
# Part of the cache key: a change of flags must not reuse an old binary.
CONFIGURE_FLAGS=(--enable-tcmalloc=yes CPPFLAGS=-DNDEBUG)

here=$(cd "$(dirname "$0")/.." && pwd)
cache=${UNDERSTUDY_CACHE:-/var/cache/understudy}/drachtio-server
prefix=${PREFIX:-/usr/local}
say() { printf 'install-drachtio-server: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

source=${1:-${UNDERSTUDY_DRACHTIO_SOURCE:-}}
if [ -z "$source" ]; then
  for f in "$here"/../shared/vendor/drachtio-server/drachtio-server-*.tar.*; do
    [ -f "$f" ] && source=$f && break
  done
fi

missing_deps() {
  local p
  for p in "${BUILD_DEPS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || printf '%s ' "$p"
  done
}

install_deps() {
  local missing
  missing=$(missing_deps)
  [ -z "$missing" ] && return 0
  command -v apt-get >/dev/null || die "missing build dependencies ($missing) and no apt-get to install them"
  say "installing build dependencies: $missing"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # shellcheck disable=SC2086
  apt-get install -y -qq --no-install-recommends $missing >/dev/null
}

# Release version string of the source: drachtio-srf only pings a server whose
# version reads vX.Y.Z, and a build outside git would report 1.0.0.
version_of() {
  local dir=$1 name
  if git -C "$dir" rev-parse --git-dir >/dev/null 2>&1; then
    git -C "$dir" describe --tags --always 2>/dev/null && return 0
  fi
  name=$(basename "$dir")
  if [[ $name =~ ^drachtio-server-(v[0-9]+\.[0-9]+\.[0-9]+.*)$ ]]; then
    printf '%s\n' "${BASH_REMATCH[1]}"
  else
    printf '%s\n' "$PINNED_VERSION"
  fi
}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Resolve SOURCE to a cache key and, lazily, a source directory.
if [ -z "$source" ]; then
  say "no source archive found; cloning $REPOSITORY at $PINNED_COMMIT"
  install_deps
  git clone -q "$REPOSITORY" "$work/drachtio-server"
  git -C "$work/drachtio-server" checkout -q "$PINNED_COMMIT"
  git -C "$work/drachtio-server" submodule update -q --init --recursive
  source=$work/drachtio-server
fi
if [ -f "$source" ]; then
  key=$(sha256sum "$source" | cut -d' ' -f1)
elif [ -d "$source" ]; then
  if git -C "$source" rev-parse --git-dir >/dev/null 2>&1; then
    key=git-$(git -C "$source" rev-parse HEAD)$( [ -z "$(git -C "$source" status --porcelain --ignore-submodules=none)" ] || echo "-dirty-$(date +%s)")
  else
    key=dir-$(tar -C "$source" -cf - --sort=name --mtime=@0 --owner=0 --group=0 . | sha256sum | cut -d' ' -f1)
  fi
else
  die "source not found: $source"
fi
key=$key-$(printf '%s ' "${CONFIGURE_FLAGS[@]}" | sha256sum | cut -c1-8)
cached=$cache/$key/drachtio

if [ -x "$cached" ]; then
  say "cached build $key"
  install_deps # the binary's shared libraries come with them
else
  install_deps
  if [ -f "$source" ]; then
    say "unpacking $(basename "$source")"
    tar -xf "$source" -C "$work"
    dir=$(find "$work" -mindepth 1 -maxdepth 1 -type d | head -n 1)
  else
    # Same base name: an unpacked archive's folder name carries its version.
    dir=$work/$(basename "$source")
    cp -a "$source" "$dir"
  fi
  version=$(version_of "$dir")
  [[ $version =~ ^v[0-9]+\.[0-9]+\.[0-9]+ ]] || die "version string '$version' does not read vX.Y.Z"
  say "building $version ($(nproc) jobs; about 4 minutes on 2 cores)"
  started=$(date +%s)
  (
    cd "$dir"
    ./bootstrap.sh >"$work/bootstrap.log" 2>&1 || { tail -n 40 "$work/bootstrap.log" >&2; exit 1; }
    mkdir -p build && cd build
    ../configure "${CONFIGURE_FLAGS[@]}" >"$work/configure.log" 2>&1 || { tail -n 40 "$work/configure.log" >&2; exit 1; }
    make -j"$(nproc)" MYVERSION="$version" >"$work/make.log" 2>&1 || { tail -n 60 "$work/make.log" >&2; exit 1; }
  )
  built=$dir/build/drachtio
  got=$("$built" --version 2>&1 | head -n 1)
  [ "$got" = "$version" ] || die "built binary reports '$got', expected '$version'"
  mkdir -p "$cache/$key"
  install -m 0755 "$built" "$cached.tmp" && mv "$cached.tmp" "$cached"
  say "built in $(( $(date +%s) - started )) s"
fi

got=$("$cached" --version 2>&1 | head -n 1)
[[ $got =~ ^v[0-9]+\.[0-9]+\.[0-9]+ ]] || die "cached binary reports '$got', not vX.Y.Z"
mkdir -p "$prefix/bin"
if ! cmp -s "$cached" "$prefix/bin/drachtio"; then
  install -m 0755 "$cached" "$prefix/bin/drachtio"
fi
command -v drachtio >/dev/null || say "warning: $prefix/bin is not on PATH"
say "drachtio $got installed at $prefix/bin/drachtio"
