# Sourced by tools/run, tools/test and tools/bench: installs what is missing,
# then configures and builds the presets asked for.
#
# levblk_need_packages PKG...   installs missing Debian packages (as root with
#                               apt-get; otherwise prints the command and stops)
# levblk_build PRESET...        cmake configure + build of each preset
levblk_top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

# e2fsprogs: mke2fs makes the demo image's ext2 partition and the test images, e2fsck,
# dumpe2fs and debugfs check them.
LEVBLK_BASE_PACKAGES=(clang lld llvm cmake ninja-build qemu-system-arm gdb-multiarch fdisk e2fsprogs)
LEVBLK_TEST_PACKAGES=(libcmocka-dev libclang-rt-14-dev qemu-utils device-tree-compiler python3)
# tools/bench: qemu-img for the ceiling, gnuplot for the plots.
LEVBLK_BENCH_PACKAGES=(qemu-utils gnuplot-nox python3)

levblk_need_packages() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  local cmd=(apt-get install -y --no-install-recommends "${missing[@]}")
  if [ "$(id -u)" != 0 ]; then
    echo "levblk: missing packages. Install them with:" >&2
    echo "  sudo apt-get update && sudo ${cmd[*]}" >&2
    exit 2
  fi
  echo "levblk: installing ${missing[*]}" >&2
  if ! DEBIAN_FRONTEND=noninteractive "${cmd[@]}" >/dev/null 2>&1; then
    apt-get update -qq >/dev/null 2>&1 || true
    DEBIAN_FRONTEND=noninteractive "${cmd[@]}" >/dev/null || { echo "levblk: apt-get failed" >&2; exit 2; }
  fi
}

levblk_build() {
  local preset
  for preset in "$@"; do
    (cd "$levblk_top" && cmake --preset "$preset" >/dev/null && cmake --build --preset "$preset") || {
      echo "levblk: build of preset $preset failed" >&2; exit 2; }
  done
}
