#!/usr/bin/env bash
# Writes the cloudmask(1) man page (roff) to stdout from the program's own --help texts, so the
# page never drifts from the CLI: `manpage.sh path/to/cloudmask VERSION`.
# help2man is not a Debian 12 default and would be one more package to install for one page;
# clap's help is already the reference text, this only wraps it in roff.
set -euo pipefail
exe=$1
version=$2

# Roff escaping of a block of help text: backslashes, and lines that start with a control
# character ('.' or "'"), which roff would take for requests.
escape() { sed -e 's/\\/\\e/g' -e "s/^\([.']\)/\\\\\&\1/" -e 's/-/\\-/g'; }

# The subcommands: the first word of each line of the "Commands:" block of clap's help.
commands() {
  "$exe" --help | awk '/^Commands:/{on=1; next} on && /^$/{exit} on {print $1}' | grep -vx help
}

date=$(date -u -d "@${SOURCE_DATE_EPOCH:-$(date +%s)}" +%Y-%m-%d)
echo ".TH CLOUDMASK 1 \"$date\" \"cloudmask $version\" \"User Commands\""
echo ".SH NAME"
echo "cloudmask \\- cloud and cloud\\-shadow masks for optical satellite imagery"
echo ".SH SYNOPSIS"
echo ".B cloudmask"
echo ".I COMMAND"
echo "[\\fIOPTIONS\\fR] ..."
echo ".SH DESCRIPTION"
echo ".nf"
"$exe" --help | escape
echo ".fi"
echo ".SH COMMANDS"
for c in $(commands); do
  echo ".SS cloudmask $c"
  echo ".nf"
  # train, pretrain and experiment hand their options to cloudmask-train, which this package
  # does not carry (it links libtorch): their one-line summary is what there is to say.
  if ! "$exe" "$c" --help 2>/dev/null | escape; then
    "$exe" --help | awk -v c="$c" '$1 == c {sub(/^ *[^ ]+ +/, ""); print}' | escape
    echo "(needs cloudmask\\-train, built from the source tree: not part of this package)"
  fi
  echo ".fi"
done
cat <<'ROFF'
.SH ENVIRONMENT
.TP
.B CLOUDMASK_ORT_LIB, ORT_DYLIB_PATH
absolute path of libonnxruntime.so to load instead of the package's own copy
.TP
.B CLOUDMASK_MODEL_PATH
colon\-separated folders of .onnx models, searched before ~/.local/share/cloudmask/models and
/usr/share/cloudmask/models
.SH FILES
.TP
.I /usr/lib/x86_64\-linux\-gnu/cloudmask/libonnxruntime.so.*
ONNX Runtime, private to cloudmask
.TP
.I /usr/share/cloudmask/models/ukis_csmask/
the ukis\-csmask models (ukis\-6b\-l1c, ukis\-6b\-l2a, ukis\-4b\-l1c, ukis\-4b\-l2a)
.TP
.I /usr/lib/x86_64\-linux\-gnu/gdalplugins/gdal_cloudmask.so
the CLOUDMASK GDAL driver, loaded by every GDAL program
.SH SEE ALSO
.BR gdalinfo (1),
.BR gdal_translate (1);
.B cloudmask doctor
shows where ONNX Runtime and the models are found.
ROFF
