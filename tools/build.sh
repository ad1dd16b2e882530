#!/usr/bin/env bash
# Builds the pinned test infrastructure into a cache outside the clone, keyed by version:
#   ${STEPWISE_TOOLS_CACHE:-~/.cache/stepwise-tools}/<name>-<version>/<binary>
# A tool already in the cache is not rebuilt. Usage: tools/build.sh [name...]  (default: all)
# Prints one line per tool: "<name> <version> <dir> built in Ns | cached | FAILED (see <log>)".
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cache="${STEPWISE_TOOLS_CACHE:-$HOME/.cache/stepwise-tools}"
mkdir -p "$cache"

version_of() { # the pinned version of a module in one tool module's go.mod
  awk -v m="$2" '$1 == "require" && $2 == m { print $3 } $1 == m && NF == 2 { print $2 }' "$here/$1/go.mod" | head -1
}

build() { # name module version_ldflags package...
  local name=$1 module=$2 ldflags=$3; shift 3
  local version; version=$(version_of "$name" "$module")
  local dir="$cache/$name-$version"
  local complete=0; [ -f "$dir/.complete" ] && complete=1
  for pkg in "$@"; do # a binary added to the list since that build makes it incomplete
    local bin="${pkg##*/}"; [[ "$pkg" == *=* ]] && bin="${pkg%%=*}"
    [ -x "$dir/$bin" ] || complete=0
  done
  if [ "$complete" = 1 ]; then echo "$name $version $dir cached"; return 0; fi
  local log="$cache/$name-$version.log" start=$SECONDS
  rm -rf "$dir.tmp" && mkdir -p "$dir.tmp"
  local ok=1
  for pkg in "$@"; do # pkg or binary=pkg
    local out="$dir.tmp/"; [[ "$pkg" == *=* ]] && out="$dir.tmp/${pkg%%=*}" && pkg="${pkg#*=}"
    (cd "$here/$name" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w $ldflags" -o "$out" "$pkg") >>"$log" 2>&1 || ok=0
  done
  if [ "$ok" = 1 ]; then
    touch "$dir.tmp/.complete" && rm -rf "$dir" && mv "$dir.tmp" "$dir"
    echo "$name $version $dir built in $((SECONDS - start))s"
  else
    echo "$name $version FAILED after $((SECONDS - start))s (see $log)"; tail -5 "$log"; return 1
  fi
}

kube_version=$(version_of kubernetes k8s.io/kubernetes)
kube_ldflags="-X k8s.io/component-base/version.gitVersion=$kube_version -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$(echo "$kube_version" | cut -d. -f2)"
prom_version=$(version_of prometheus github.com/prometheus/prometheus)
# Prometheus module v0.3XX.Y is Prometheus 3.XX.Y.
prom_release=$(echo "$prom_version" | sed -E 's/^v0\.3([0-9]{2})\.([0-9]+)$/3.\1.\2/; s/^3\.0/3./')
prom_ldflags="-X github.com/prometheus/common/version.Version=$prom_release"

want="${*:-prometheus etcd kwok kubernetes}"
status=0
for tool in $want; do
  case "$tool" in
    prometheus) build prometheus github.com/prometheus/prometheus "$prom_ldflags" github.com/prometheus/prometheus/cmd/prometheus \
      github.com/prometheus/prometheus/cmd/promtool || status=1 ;;
    etcd) build etcd go.etcd.io/etcd/server/v3 "" etcd=go.etcd.io/etcd/server/v3 || status=1 ;;
    kwok) build kwok sigs.k8s.io/kwok "" sigs.k8s.io/kwok/cmd/kwok || status=1 ;;
    kubernetes) build kubernetes k8s.io/kubernetes "$kube_ldflags" k8s.io/kubernetes/cmd/kube-apiserver \
      k8s.io/kubernetes/cmd/kube-controller-manager k8s.io/kubernetes/cmd/kube-scheduler || status=1 ;;
    *) echo "unknown tool $tool (known: prometheus etcd kwok kubernetes)"; status=2 ;;
  esac
done
exit "$status"
