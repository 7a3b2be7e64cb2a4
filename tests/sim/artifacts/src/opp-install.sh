#!/bin/bash
# ascend-serving simulated cluster: the install.sh embedded in the fake CANN custom-op .run
# packages (tests only). It behaves like the one the CANN op-package builder embeds:
#  - the install root is --install-path=<absolute dir>, else $ASCEND_CUSTOM_OPP_PATH (a single
#    directory: a ':' list is refused), else $ASCEND_OPP_PATH (unset = error);
#  - files land in <root>/vendors/customize/;
#  - with --install-path, <root>/vendors/customize/bin/set_env.bash is written; without it,
#    <root>/vendors/config.ini gets load_priority=customize;
#  - the last line on success is "SUCCESS".
vendor_name=customize
targetdir=/usr/local/Ascend/opp
sourcedir=$PWD/packages
vendordir=vendors/$vendor_name
QUIET="n"
INSTALL_PATH=""
INSTALL_FOR_ALL=""
FORCE=""

while true; do
    case $1 in
    --quiet)
        QUIET="y"
        shift
        ;;
    --install-path=*)
        INSTALL_PATH=$(echo "$1" | cut -d"=" -f2-)
        INSTALL_PATH=${INSTALL_PATH%*/}
        shift
        ;;
    --install-for-all)
        INSTALL_FOR_ALL="y"
        shift
        ;;
    --force)
        FORCE="y"
        shift
        ;;
    --*)
        shift
        ;;
    *)
        break
        ;;
    esac
done

log() {
    cur_date=$(date +"%Y-%m-%d %H:%M:%S")
    case "$1" in
    "[ERROR]"* | "[WARNING]"*) echo "[ops_custom] [$cur_date] $1" ;;
    *) test "$QUIET" = y || echo "[ops_custom] [$cur_date] $1" ;;
    esac
}

create_dir() {
    local mode=$2
    test "$3" = y && mode=755
    if ! mkdir -p "$1"; then
        log "[ERROR] create $1 failed"
        return 1
    fi
    chmod "$mode" "$1"
}

if [ -n "${INSTALL_PATH}" ]; then
    if [[ ! "${INSTALL_PATH}" = /* ]]; then
        log "[ERROR] use absolute path for --install-path argument"
        exit 1
    fi
    if [ ! -d "${INSTALL_PATH}" ]; then
        create_dir "${INSTALL_PATH}" 750 "${INSTALL_FOR_ALL}" || exit 1
    fi
    targetdir=${INSTALL_PATH}
elif [ -n "${ASCEND_CUSTOM_OPP_PATH}" ]; then
    if [[ "${ASCEND_CUSTOM_OPP_PATH}" == *:* ]]; then
        log "[ERROR] environment variable ASCEND_CUSTOM_OPP_PATH=${ASCEND_CUSTOM_OPP_PATH} is set and has multiple path in it (colon inside), which will cause the custom op installed incorrectly. Please use the --install-path option to specify an installation path instead."
        exit 1
    fi
    targetdir=${ASCEND_CUSTOM_OPP_PATH}
else
    if [ -z "${ASCEND_OPP_PATH}" ]; then
        log "[ERROR] env ASCEND_OPP_PATH no exist"
        exit 1
    fi
    targetdir="${ASCEND_OPP_PATH}"
fi

if [ ! -d "$targetdir" ]; then
    log "[ERROR] $targetdir no exist"
    exit 1
fi

if [ "$FORCE" = y ]; then
    log "[WARNING] --force is enabled, skip shared library validation."
elif [ ! -f "${sourcedir}/${vendordir}/op_impl/ai_core/tbe/op_tiling/lib/linux/aarch64/libcust_opmaster_rt2.0.so" ]; then
    log "[ERROR] Required shared library libcust_opmaster_rt2.0.so was not found in package path."
    log "[ERROR] Shared library validation failed. To skip this validation and continue installation, run this package again with --force."
    exit 1
fi

log "[INFO] install package to ${targetdir}"
create_dir "${targetdir}/vendors" 750 "${INSTALL_FOR_ALL}" || exit 1
create_dir "${targetdir}/${vendordir}" 750 "${INSTALL_FOR_ALL}" || exit 1
for part in op_proto op_impl op_api; do
    if [ ! -d "${sourcedir}/${vendordir}/${part}" ]; then
        log "[INFO] no need to upgrade ops ${part} files"
        continue
    fi
    create_dir "${targetdir}/${vendordir}/${part}" 750 "${INSTALL_FOR_ALL}" || exit 1
    log "[INFO] copy new ops ${part} files ......"
    if ! cp -rf "${sourcedir}/${vendordir}/${part}/." "${targetdir}/${vendordir}/${part}/"; then
        log "[ERROR] copy new ${part} files failed"
        exit 1
    fi
done
create_dir "${targetdir}/${vendordir}/scripts" 750 "${INSTALL_FOR_ALL}" || exit 1
cp -f "${sourcedir}/${vendordir}/scripts/uninstall.sh" "${targetdir}/${vendordir}/scripts/uninstall.sh" || exit 1
log "[INFO] copy uninstall sh success"
cp -f "${sourcedir}/${vendordir}/version.info" "${targetdir}/${vendordir}/version.info" || exit 1

if [ -n "${INSTALL_PATH}" ]; then
    _ASCEND_CUSTOM_OPP_PATH=${targetdir}/${vendordir}
    bin_path="${_ASCEND_CUSTOM_OPP_PATH}/bin"
    create_dir "${bin_path}" 750 "${INSTALL_FOR_ALL}" || exit 1
    {
        echo "export ASCEND_CUSTOM_OPP_PATH=${_ASCEND_CUSTOM_OPP_PATH}:\${ASCEND_CUSTOM_OPP_PATH}"
        echo "export LD_LIBRARY_PATH=${_ASCEND_CUSTOM_OPP_PATH}/op_api/lib/:\${LD_LIBRARY_PATH}"
    } > "${bin_path}/set_env.bash"
    log "[INFO] using requirements: when custom module install finished or before you run the custom module, execute the command [ source ${bin_path}/set_env.bash ] to set the environment path"
else
    config_file=${targetdir}/vendors/config.ini
    found=$(grep -s '^load_priority=' "$config_file" | head -n 1 | cut -d"=" -f2-)
    others=$(echo "$found" | tr ',' '\n' | grep -v -x -e "$vendor_name" -e '' | paste -sd, -)
    if [ -n "$others" ]; then
        priority="$vendor_name,$others"
    else
        priority="$vendor_name"
    fi
    if [ -f "$config_file" ] && grep -q '^load_priority=' "$config_file"; then
        sed -i "s@^load_priority=.*@load_priority=$priority@" "$config_file"
    else
        echo "load_priority=$priority" >> "$config_file"
        chmod 640 "$config_file"
    fi
fi
echo "SUCCESS"
exit 0
