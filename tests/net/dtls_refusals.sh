#!/usr/bin/env bash
# dtls_refusals.sh - tls_refusals.sh over dtls: every refusal is logged in
# words a user can act on, and good clients get through after each.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"   # automake may run us with sh
CVT_TRANSPORT=dtls LAB_ID=${LAB_ID:-dtls_refusals-$$} exec bash "$(dirname "$0")/tls_refusals.sh" "$@"
