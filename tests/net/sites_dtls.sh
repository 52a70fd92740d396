#!/usr/bin/env bash
# sites_dtls.sh - sites.sh over dtls: the three sites and the road warrior
# reach each other through the gateway over DTLS.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"   # automake may run us with sh
CVT_TRANSPORT=dtls LAB_ID=${LAB_ID:-sites_dtls-$$} exec bash "$(dirname "$0")/sites.sh" "$@"
