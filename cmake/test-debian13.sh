#!/usr/bin/env bash
# make test-debian13: the whole suite on Debian 13 (trixie: LibTorch 2.6, OpenCV 4.10, GTest 1.16), in a chroot.
#
# The root is made once with debootstrap from the Debian mirror this machine's apt is configured with (read from
# the apt sources, so no host name is written here) and cached in $ATTENTION_DEBIAN13_ROOT, by default
# /var/cache/attention/debian13 (about 3.3 GB). Each run mounts /proc, /dev and this checkout into it, installs
# what is missing with the project's own cmake/install-deps.sh, then configures, builds and tests with the
# `debian13` preset (build-debian13/). Everything it mounts is unmounted on exit, on error and on Ctrl-C.
# Needs root (or sudo) for debootstrap, mount and chroot.
#
#   cmake/test-debian13.sh                 the suite
#   cmake/test-debian13.sh 'COMMAND'       COMMAND instead, run by bash inside the root in the checkout (after the
#                                          dependencies), e.g. a benchmark of build-debian13/
set -euo pipefail

if [[ "$(id -u)" -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "test-debian13: needs root (or sudo) for debootstrap, mount and chroot" >&2; exit 1; }
  exec sudo --preserve-env=ATTENTION_DEBIAN13_ROOT "$0" "$@"
fi

repo=$(cd "$(dirname "$0")/.." && pwd)
root=${ATTENTION_DEBIAN13_ROOT:-/var/cache/attention/debian13}
suite=trixie
inside=/src/attention  # where the checkout appears inside the root

# The first Debian archive URI of the apt sources (deb822 *.sources, or one-line sources.list), security excluded.
debian_mirror() {
  local uri
  uri=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null |
        awk 'tolower($1) == "uris:" { for (i = 2; i <= NF; i++) print $i }' | grep -v -e '-security' | head -n 1 || true)
  if [[ -z $uri ]]; then
    uri=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
          awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /:\/\//) { print $i; break } }' |
          grep -v -e '-security' | head -n 1 || true)
  fi
  [[ -n $uri ]] || { echo "test-debian13: found no Debian mirror in /etc/apt/sources.list{,.d/}" >&2; return 1; }
  echo "$uri"
}

make_root() {
  command -v debootstrap >/dev/null || {
    echo "test-debian13: installing debootstrap"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends debootstrap
  }
  local mirror partial="$root.partial"
  mirror=$(debian_mirror)
  echo "test-debian13: making the Debian 13 root in $root from $mirror (once; about 1.5 minutes)"
  rm -rf "$partial"
  debootstrap --variant=minbase "$suite" "$partial" "$mirror"
  # The host's apt settings (a proxy, snapshot date checks) and name resolution, so apt works inside as here.
  cp /etc/apt/apt.conf.d/* "$partial/etc/apt/apt.conf.d/" 2>/dev/null || true
  mv "$partial" "$root"
}

# One run at a time per root: checkouts would otherwise mount over each other at $inside.
mkdir -p "$(dirname "$root")"
exec 9>"$root.lock"
flock 9

[[ -x "$root/usr/bin/apt-get" ]] || make_root
cp -L /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true

mounted=()
unmount_all() {
  local i
  for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
    umount "${mounted[i]}" 2>/dev/null || umount -l "${mounted[i]}" 2>/dev/null || true
  done
  mounted=()
}
trap unmount_all EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

mount_into() {  # mount_into TARGET MOUNT-ARGS...
  local target=$1
  shift
  mkdir -p "$target"
  mount "$@" "$target"
  mounted+=("$target")
}
mount_into "$root/proc" -t proc proc
mount_into "$root/dev" --bind /dev
mount_into "$root$inside" --bind "$repo"

command=${1:-"cmake --preset debian13 && cmake --build --preset debian13 && ctest --preset debian13"}
chroot "$root" /usr/bin/env -i HOME=/root PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 \
  bash -euo pipefail -c "cd '$inside' && bash cmake/install-deps.sh && $command"
