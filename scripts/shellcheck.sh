#!/usr/bin/env bash
# `make shellcheck` (in `make lint`, `make test` and the pre-commit hook): shellcheck every shell
# script of the project, i.e. every file named *.sh or *.bash, and every file without a dot in its
# name whose first line is a sh, bash, dash or ksh shebang, among the files git knows (tracked, or
# untracked and not ignored; outside a git checkout: every file but .git/, .venv/ and .work/).
# Usage: shellcheck.sh [--list] [FILE...]
#   --list   print the files it would check, one a line, and exit
#   FILE...  check these files instead
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "${ROOT}"

list=false
if [ "${1:-}" = "--list" ]; then list=true; shift; fi

shebang_re='^#![[:space:]]*(/usr)?(/local)?/bin/(env[[:space:]]+)?(ba|da|k)?sh([[:space:]]|$)'
is_shell() {
  local f="$1" first
  case "${f##*/}" in
    *.sh | *.bash) return 0 ;;
    # Other extensions are not shell (a launch.sh.j2 template is not shell until rendered).
    *.*) return 1 ;;
  esac
  first="$(head -c 256 -- "${f}" | head -n 1 | tr -d '\0')"
  [[ "${first}" =~ ${shebang_re} ]]
}

candidates() {
  if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    git ls-files --cached --others --exclude-standard
  else
    find . \( -path ./.git -o -path ./.venv -o -path ./.work \) -prune -o -type f -print | sed 's|^\./||'
  fi
}

files=("$@")
if [ ${#files[@]} -eq 0 ]; then
  while IFS= read -r f; do
    # git still lists a tracked file deleted in the work tree.
    [ -f "${f}" ] && is_shell "${f}" && files+=("${f}")
  done < <(candidates | sort -u)
fi

if ${list}; then
  printf '%s\n' "${files[@]}"
  exit 0
fi
if [ ${#files[@]} -eq 0 ]; then
  echo "shellcheck.sh: no shell scripts found under ${ROOT}" >&2
  exit 1
fi
command -v shellcheck >/dev/null 2>&1 || {
  echo "shellcheck.sh: shellcheck is not installed; scripts/setup.sh installs it (Debian package shellcheck)" >&2
  exit 1
}
shellcheck --external-sources "${files[@]}"
echo "shellcheck: ${#files[@]} files clean"
