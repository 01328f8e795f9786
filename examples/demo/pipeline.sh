#!/bin/sh
# The demo job's script: what a CI step sees when it runs under govern.
echo "  [job] running as a governed step"
if [ -n "${GOVERN_ID_TOKEN:-}" ]; then echo "  [job] the OIDC token is visible: this should never happen"; exit 1; fi
echo "  [job] GOVERN_ID_TOKEN is not in my environment: the gateway keeps the job's identity to itself"
echo "  [job] done"
