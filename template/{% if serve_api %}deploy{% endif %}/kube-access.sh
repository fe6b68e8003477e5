#!/usr/bin/env bash
# Cluster access shared by deploy.sh and smoke.sh (sourced, not run).
#
# In order of preference:
#   - KUBE_SERVER and KUBE_CA_DATA (base64 CA certificate), with an OIDC token from the CI
#     platform: KUBE_TOKEN (GitLab id_tokens) or, on GitHub Actions, one requested here with
#     the audience "kubernetes". The cluster must trust the CI platform as an OIDC issuer.
#   - otherwise the current kubectl context (for example after a cloud provider's login step).

# use_cluster NAMESPACE: point kubectl at the cluster; sets KUBECONFIG and workdir.
use_cluster() {
  local namespace=$1 token
  workdir=$(mktemp -d)
  trap 'rm -rf "${workdir}"' EXIT
  if [[ -n "${KUBE_SERVER:-}" ]]; then
    token=${KUBE_TOKEN:-}
    if [[ -z "${token}" && -n "${ACTIONS_ID_TOKEN_REQUEST_URL:-}" ]]; then
      token=$(curl --fail --silent --show-error \
        --header "Authorization: bearer ${ACTIONS_ID_TOKEN_REQUEST_TOKEN}" \
        "${ACTIONS_ID_TOKEN_REQUEST_URL}&audience=kubernetes" |
        python3 -c 'import json, sys; print(json.load(sys.stdin)["value"])')
      echo "::add-mask::${token}"
    fi
    if [[ -z "${token}" ]]; then
      echo "KUBE_SERVER is set but no OIDC token is available (KUBE_TOKEN)" >&2
      exit 2
    fi
    printf '%s' "${KUBE_CA_DATA:?KUBE_CA_DATA is required with KUBE_SERVER}" | base64 --decode >"${workdir}/ca.crt"
    export KUBECONFIG="${workdir}/kubeconfig"
    kubectl config set-cluster target --server="${KUBE_SERVER}" --certificate-authority="${workdir}/ca.crt" --embed-certs >/dev/null
    kubectl config set-credentials deployer --token="${token}" >/dev/null
    kubectl config set-context target --cluster=target --user=deployer --namespace="${namespace}" >/dev/null
    kubectl config use-context target >/dev/null
  fi
}
