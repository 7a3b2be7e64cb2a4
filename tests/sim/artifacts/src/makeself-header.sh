#!/bin/sh
# This script was generated using Makeself 2.5.0
# ascend-serving simulated cluster: a makeself-format stand-in for @NAME@ (tests only).
# Layout as makeself's: this shell header, then a gzip'ed tar payload from line skip+1, whose
# SHA256 and size are checked before anything is extracted. The option set is that of the CANN
# op-package header: makeself's own flags, plus the embedded installer's --install-path=<dir>,
# --install-for-all and --force; any other flag is refused.
ORIG_UMASK=$(umask)
umask 077

# CRCsum, MD5 and SIGNATURE are fields of every makeself header (tools read them); this one
# checks the SHA256 only.
# shellcheck disable=SC2034
CRCsum="0000000000"
# shellcheck disable=SC2034
MD5="00000000000000000000000000000000"
SHA="@SHA256@"
# shellcheck disable=SC2034
SIGNATURE=""
label="@LABEL@"
script="./install.sh"
scriptargs=""
targetdir="@TARGETDIR@"
filesizes="@FILESIZE@"
totalsize="@TOTALSIZE@"
keep="n"
quiet="n"
skip="@SKIP@"
TMPROOT=${TMPDIR:=/tmp}
export USER_PWD="$PWD"

MS_Help()
{
    cat << EOH
Makeself version 2.5.0
 1) Getting help or info about $0 :
  $0 --help   Print this message
  $0 --info   Print embedded info : title, default target directory, embedded script ...
  $0 --list   Print the list of files in the archive
  $0 --check  Checks integrity of the archive

 2) Running $0 :
  $0 [options] [--] [additional arguments to embedded script]
  with following options (in that order)
  --quiet               Do not print anything except error messages
  --accept              Accept the license
  --noexec              Do not run embedded script (implies --noexec-cleanup)
  --noexec-cleanup      Do not run embedded cleanup script
  --keep                Do not erase target directory after running
                        the embedded script
  --noprogress          Do not show the progress during the decompression
  --nox11               Do not spawn an xterm
  --nochown             Do not give the target folder to the current user
  --nodiskspace         Do not check for available disk space
  --target dir          Extract directly to a target directory (absolute or relative)
                        This directory may undergo recursive chown (see --nochown).
  --                    Following arguments will be passed to the embedded script

 3) Options of the embedded installer (install.sh):
  --install-path=<path>             Install operator package to specific dir path
  --install-for-all                 Allow other users to use the operator package
  --force                           Skip shared library validation and continue installation
EOH
}

MS_Payload()
{
    tail -n +"$((skip + 1))" "$0"
}

MS_Check()
{
    if test "$1" = y; then
        printf "Verifying archive integrity..."
    fi
    size=$(MS_Payload | wc -c | tr -d ' ')
    if test "$size" != "$filesizes"; then
        echo "Error in archive size: $size bytes where $filesizes were expected (truncated or altered download?)" >&2
        exit 2
    fi
    sum=$(MS_Payload | sha256sum | cut -d' ' -f1)
    if test "$sum" != "$SHA"; then
        echo "Error in SHA256 checksums: $sum is different from $SHA" >&2
        exit 2
    fi
    if test "$1" = y; then
        echo "  100%   SHA256 checksums are OK. All good."
    fi
}

while true
do
    case "$1" in
    -h | --help)
        MS_Help
        exit 0
        ;;
    -q | --quiet)
        quiet=y
        shift
        ;;
    --info)
        echo Identification: "$label"
        echo Target directory: "$targetdir"
        echo Uncompressed size: "$totalsize" bytes
        echo Compression: gzip
        echo Encryption: n
        echo Date of packaging: @DATE@
        echo Built with Makeself version 2.5.0
        echo Build command was: "./makeself.sh --gzip --sha256 packages $targetdir.run \"$label\" ./install.sh"
        echo Script run after extraction:
        echo "      $script$scriptargs"
        echo Checksum: SHA256 "$SHA"
        exit 0
        ;;
    --list)
        echo Target directory: "$targetdir"
        MS_Check n
        MS_Payload | gzip -cd | tar -tvf -
        exit 0
        ;;
    --check)
        MS_Check y
        exit 0
        ;;
    --noexec)
        script=""
        shift
        ;;
    --keep)
        keep=y
        shift
        ;;
    --target)
        if test -z "$2"; then
            echo "Option --target requires an argument" >&2
            exit 1
        fi
        keep=y
        targetdir="$2"
        shift 2
        ;;
    --accept | --noexec-cleanup | --noprogress | --nox11 | --nochown | --nodiskspace)
        shift
        ;;
    --install-path=* | --install-for-all | --force)
        # The CANN op-package header passes these to the embedded install.sh.
        scriptargs="$scriptargs $1"
        shift
        ;;
    --)
        shift
        break
        ;;
    -*)
        echo Unrecognized flag : "$1" >&2
        MS_Help >&2
        exit 1
        ;;
    *)
        break
        ;;
    esac
done

if test "$quiet" = y; then
    scriptargs="$scriptargs --quiet"
fi
if test "$keep" = y; then
    tmpdir="$targetdir"
else
    tmpdir="$TMPROOT/selfgz$$"
fi
location="$(pwd)"
if test "$quiet" = y; then
    MS_Check n
else
    MS_Check y
fi
mkdir -p "$tmpdir" || {
    echo "Cannot create target directory $tmpdir" >&2
    exit 1
}
test "$quiet" = y || echo "Uncompressing $label"
if ! MS_Payload | gzip -cd | (cd "$tmpdir" && umask "$ORIG_UMASK" && tar -xf -); then
    echo "Unable to decompress $0" >&2
    test "$keep" = y || rm -rf "$tmpdir"
    exit 1
fi
res=0
if test -n "$script"; then
    cd "$tmpdir" || exit 1
    umask "$ORIG_UMASK"
    eval "\"$script\" $scriptargs \"\$@\""; res=$?
    cd "$location" || exit 1
fi
if test "$keep" != y; then
    rm -rf "$tmpdir"
fi
exit $res
