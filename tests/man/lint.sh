#!/usr/bin/env bash
# lint.sh - the four man pages: mandoc -Tlint finds nothing above a style
# note (a missing cross-reference only means the page is not installed
# yet), each has a FILES section, and SEE ALSO on each names the other
# three. No root, no network.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"   # automake may run us with sh
set -u -o pipefail
: "${CULVERT_SRCDIR:?run this through make check}"
command -v mandoc >/dev/null || { echo "SKIP: mandoc not found (apt-get install mandoc)"; exit 77; }

pages=(culvertd.8 culvertctl.8 culvert.conf.5 culvert-transport.7)
failed=0
check() {   # check DESCRIPTION CONDITION...
	local what=$1
	shift
	if "$@"; then
		echo "ok - $what"
	else
		echo "not ok - $what"
		failed=$((failed + 1))
	fi
}
# Lines mandoc reports above STYLE (WARNING, ERROR, UNSUPP), for page $1.
lint() {
	mandoc -Tlint -W warning "$CULVERT_SRCDIR/man/$1" 2>&1 | grep -v 'outdated mandoc.db' | sed 's/^/#   /'
}
# Page $1's section $2, as text.
section() {
	sed -n "/^\\.Sh $2\$/,/^\\.Sh /p" "$CULVERT_SRCDIR/man/$1"
}
for p in "${pages[@]}"; do
	out=$(lint "$p")
	check "mandoc -Tlint: $p is clean${out:+:
$out}" test -z "$out"
	check "$p has a FILES section" grep -q '^\.Sh FILES$' "$CULVERT_SRCDIR/man/$p"
	for q in "${pages[@]}"; do
		[[ $q == "$p" ]] && continue
		check "$p's SEE ALSO names ${q%.*}(${q##*.})" \
			grep -qx "\\.Xr ${q%.*} ${q##*.}.*" <(section "$p" 'SEE ALSO')
	done
done
((failed == 0)) || { echo "# $failed check(s) failed"; exit 1; }
exit 0
