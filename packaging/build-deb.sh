#!/usr/bin/env bash
# Builds OUTDIR/metrics-host_VERSION_ARCH.deb (default target/debian) from
# BINARY (default the release binary, make build) and packaging/debian/: the binary (debug info stripped) in
# /usr/bin, the default config in /etc/metrics-host/ (a conffile), an empty
# plugins folder, the systemd unit, the README. Prints the package's path.
# Usage: build-deb.sh [BINARY [OUTDIR]]
set -euo pipefail
cd "$(dirname "$0")/.."
binary=${1:-target/release/metrics-host}
out=${2:-target/debian}
[ -x "$binary" ] || { echo "build-deb: $binary is missing (make build)" >&2; exit 1; }
version=$("$binary" --version | awk '{print $2}')
arch=$(dpkg --print-architecture)
# The newest glibc symbol version the binary needs.
glibc=$(objdump -T "$binary" | grep -o 'GLIBC_[0-9.]*' | sed 's/GLIBC_//' | sort -V | tail -1)
stage=$out/metrics-host_${version}_${arch}
rm -rf "$stage"
install -d "$stage/DEBIAN" "$stage/usr/bin" "$stage/etc/metrics-host/plugins" \
    "$stage/lib/systemd/system" "$stage/usr/share/doc/metrics-host"
objcopy --strip-debug "$binary" "$stage/usr/bin/metrics-host"
install -m 0644 packaging/debian/metrics-host.toml "$stage/etc/metrics-host/metrics-host.toml"
install -m 0644 packaging/debian/metrics-host.service "$stage/lib/systemd/system/metrics-host.service"
install -m 0644 README.md PLUGINS.md "$stage/usr/share/doc/metrics-host/"
install -m 0755 packaging/debian/postinst packaging/debian/prerm packaging/debian/postrm "$stage/DEBIAN/"
echo /etc/metrics-host/metrics-host.toml > "$stage/DEBIAN/conffiles"
sed -e "s/@VERSION@/$version/" -e "s/@ARCH@/$arch/" -e "s/@DEPENDS@/libc6 (>= $glibc), libgcc-s1/" \
    packaging/debian/control > "$stage/DEBIAN/control"
echo "Installed-Size: $(du -sk --exclude=DEBIAN "$stage" | cut -f1)" >> "$stage/DEBIAN/control"
dpkg-deb --root-owner-group --build "$stage" "$stage.deb" >/dev/null
echo "$stage.deb"
