#!/usr/bin/env bash
# dtls_lab.sh - tls_lab.sh over dtls: three clients with their own
# certificates, ping and an intact TCP transfer from each, clean stops.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"   # automake may run us with sh
CVT_TRANSPORT=dtls LAB_ID=${LAB_ID:-dtls_lab-$$} exec bash "$(dirname "$0")/tls_lab.sh" "$@"
