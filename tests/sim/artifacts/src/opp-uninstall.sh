#!/bin/bash
# ascend-serving simulated cluster: uninstall the fake custom-op vendor package (tests only).
vendor_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
case "$vendor_dir" in
*/vendors/customize) rm -rf "$vendor_dir" && echo "SUCCESS" ;;
*) echo "[ops_custom] [ERROR] $vendor_dir is not a vendors/customize directory" >&2; exit 1 ;;
esac
