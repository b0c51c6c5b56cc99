#!/usr/bin/env bash
# Builds the Debian 12 package dist/cloudmask_<version>_amd64.deb (make dist, docs/packaging.md)
# from the checkout's release build and the project's .venv (ONNX Runtime and the ukis-csmask
# models), with dpkg-deb from a staged tree: dpkg-deb and dpkg-shlibdeps come with Debian, where
# cargo-deb would be one more tool to install from crates.io for what a file list does.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
# The workspace version ([workspace.package] in Cargo.toml: its first `version =` line).
VERSION=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n1)
ARCH=amd64
MULTIARCH=x86_64-linux-gnu
SOVERSION=0
ORT_VERSION=1.31.1
SITE=$(echo "$ROOT"/.venv/lib/python3*/site-packages)
ORT_LIB=$SITE/onnxruntime/capi/libonnxruntime.so.$ORT_VERSION
UKIS=$SITE/ukis_csmask
UKIS_LICENSE=$SITE/ukis_csmask-1.0.0.dist-info/licenses/LICENSE
ORT_LICENSE=$SITE/onnxruntime/LICENSE
# Who answers for the package: Debian's usual variables, else the project's name with an
# address under .invalid (RFC 2606: no mailbox; set DEBEMAIL when publishing the package).
MAINTAINER="${DEBFULLNAME:-cloudmask developers} <${DEBEMAIL:-maintainers@cloudmask.invalid}>"
STAGE=$ROOT/out/deb/cloudmask_${VERSION}_$ARCH
DEB=$ROOT/dist/cloudmask_${VERSION}_$ARCH.deb

for f in "$ORT_LIB" "$ORT_LICENSE" "$UKIS/model_6b_l1c.onnx" "$UKIS_LICENSE"; do
  [ -f "$f" ] || { echo "$f missing: make venv installs ONNX Runtime $ORT_VERSION and ukis-csmask 1.0.0" >&2; exit 1; }
done

# The checkout's release build (the one the tests ran; nothing to do when it is current). The
# packaged copy of the library is given its SONAME, libcloudmask.so.0 (what Debian's
# shared-library rules and ldconfig want), by patchelf rather than by a second build: the
# checkout's target/release/libcloudmask.so stays without one, so the tests and examples that
# link it by path find it by that name.
cargo build --release -p cloudmask -p cloudmask-cli
BUILT=$ROOT/target/release

rm -rf "$STAGE" && mkdir -p "$STAGE/DEBIAN" dist
scratch=$(mktemp -d) && trap 'rm -rf "$scratch"' EXIT
lib=$STAGE/usr/lib/$MULTIARCH
doc=$STAGE/usr/share/doc/cloudmask
install -d "$STAGE/usr/bin" "$lib/pkgconfig" "$lib/gdalplugins" "$lib/cloudmask" \
  "$STAGE/usr/include" "$STAGE/usr/share/cloudmask/models/ukis_csmask" "$doc" \
  "$STAGE/usr/share/man/man1"
install -m 755 "$BUILT/cloudmask" "$STAGE/usr/bin/cloudmask"
install -m 644 "$BUILT/libcloudmask.so" "$lib/libcloudmask.so.$VERSION"
patchelf --set-soname "libcloudmask.so.$SOVERSION" "$lib/libcloudmask.so.$VERSION"
strip --strip-unneeded --remove-section=.comment --remove-section=.note "$STAGE/usr/bin/cloudmask" "$lib/libcloudmask.so.$VERSION"
ln -s "libcloudmask.so.$VERSION" "$lib/libcloudmask.so.$SOVERSION"
ln -s "libcloudmask.so.$SOVERSION" "$lib/libcloudmask.so"
# GDAL loads every gdal_*.so of its plugin folder at start: the same library, one file, so a
# program that links libcloudmask and opens a virtual mask holds one copy of it.
ln -s "../libcloudmask.so.$VERSION" "$lib/gdalplugins/gdal_cloudmask.so"
# ONNX Runtime out of the linker's path: only cloudmask's runtime search looks there.
install -m 644 "$ORT_LIB" "$lib/cloudmask/libonnxruntime.so.$ORT_VERSION"
install -m 644 include/cloudmask.h "$STAGE/usr/include/cloudmask.h"
sed -e "s/@VERSION@/$VERSION/" -e "s/@MULTIARCH@/$MULTIARCH/" tools/deb/cloudmask.pc.in \
  > "$lib/pkgconfig/cloudmask.pc"
install -m 644 "$UKIS"/model_*.onnx "$UKIS"/model_*.json "$STAGE/usr/share/cloudmask/models/ukis_csmask/"

# Documentation: the copyright file names each part's licence; Debian keeps Apache-2.0 in
# /usr/share/common-licenses, ONNX Runtime's MIT text goes in full.
# (a licence text in that file is indented by one space, its empty lines written " .").
sed -e 's/^[[:space:]]*$/./' -e 's/^/ /' "$ORT_LICENSE" > "$scratch/mit"
sed -e "/@ORT_LICENSE@/{r $scratch/mit" -e 'd}' tools/deb/copyright.in > "$doc/copyright"
gzip -9n < "$SITE/onnxruntime/ThirdPartyNotices.txt" > "$doc/ThirdPartyNotices.onnxruntime.txt.gz"
cmp -s "$UKIS_LICENSE" /usr/share/common-licenses/Apache-2.0 || \
  install -m 644 "$UKIS_LICENSE" "$doc/LICENSE.ukis-csmask"
sed -e "s/@MAINTAINER@/$MAINTAINER/" tools/deb/changelog.in | gzip -9n > "$doc/changelog.gz"
install -d "$STAGE/usr/share/lintian/overrides"
install -m 644 tools/deb/lintian-overrides "$STAGE/usr/share/lintian/overrides/cloudmask"
"$STAGE/usr/bin/cloudmask" --version >/dev/null
tools/deb/manpage.sh "$STAGE/usr/bin/cloudmask" "$VERSION" | gzip -9n > "$STAGE/usr/share/man/man1/cloudmask.1.gz"

# Depends: computed from the ELF files by dpkg-shlibdeps (libgdal32, libc6, libstdc++6, ...).
# It wants a debian/control: a throwaway one in the scratch folder.
mkdir "$scratch/debian" && printf 'Source: cloudmask\n\nPackage: cloudmask\nArchitecture: %s\n' "$ARCH" > "$scratch/debian/control"
depends=$(cd "$scratch" && dpkg-shlibdeps -O -e"$STAGE/usr/bin/cloudmask" -e"$lib/libcloudmask.so.$VERSION" \
  -e"$lib/cloudmask/libonnxruntime.so.$ORT_VERSION" 2>/dev/null | sed -n 's/^shlibs:Depends=//p')
[ -n "$depends" ] || { echo "dpkg-shlibdeps computed no dependencies" >&2; exit 1; }

size=$(du -sk --exclude=DEBIAN "$STAGE" | cut -f1)
sed -e "s/@VERSION@/$VERSION/" -e "s/@ARCH@/$ARCH/" -e "s/@DEPENDS@/$depends/" -e "s/@SIZE@/$size/" \
  -e "s/@MAINTAINER@/$MAINTAINER/" \
  tools/deb/control.in > "$STAGE/DEBIAN/control"
echo "libcloudmask $SOVERSION cloudmask (>= $VERSION)" > "$STAGE/DEBIAN/shlibs"
echo "activate-noawait ldconfig" > "$STAGE/DEBIAN/triggers"
chmod 644 "$STAGE/DEBIAN/"*
(cd "$STAGE" && find usr -type f -print0 | sort -z | xargs -0 md5sum) > "$STAGE/DEBIAN/md5sums"
find "$STAGE" -type d -exec chmod 755 {} +

# gzip: the models (most of the size) are floats that xz shrinks no better, only slower.
dpkg-deb --root-owner-group -Zgzip --build "$STAGE" "$DEB"
echo "wrote $DEB"
