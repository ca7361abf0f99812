#!/usr/bin/env bash
# serve's ECS API against two peers:
#   moto       the 48 of moto's own ECS tests that concern clusters, task definitions, Fargate
#              tasks and tags, run in moto's server mode against `serve --test-mode`
#   terraform  Examples/terraform (aws provider 5.100.0): init, apply, plan (must be empty),
#              a tag change, plan again, a task of the definition Terraform registered, destroy
#              (skipped when terraform or the provider mirror is missing)
# Prints the pass count and every failure; Docs/ECS-API.md "Peer results" has the last numbers.
#
# Usage: Benchmarks/ecs-api-peers.sh MOTO_CHECKOUT
#   as root, after swift build. MOTO_CHECKOUT is a checkout of github.com/getmoto/moto (its
#   tests/test_ecs and moto/ are used in place; nothing is copied).
# Environment:
#   FARGATE_RUN_BIN   fargate-run to test (default .build/release/fargate-run, else .build/debug)
#   PYTHON            a python with moto's test dependencies (default python3): pytest (not 9.0.0),
#                     boto3, requests, responses, werkzeug, xmltodict, cryptography. E.g.
#                       python3 -m venv /tmp/moto-venv && /tmp/moto-venv/bin/pip install \
#                         boto3 pytest requests responses werkzeug xmltodict cryptography
#   PEERS_BRIDGE, PEERS_SUBNET   the tasks' bridge and subnet (default frpeers0, 198.19.201.0/24)
#   TERRAFORM         terraform binary (default: terraform on PATH)
#   TF_PLUGIN_MIRROR  unpacked provider mirror holding hashicorp/aws 5.100.0 (default /opt/tf-plugins)
#   PEERS_KEEP        a directory to copy the logs into
set -euo pipefail
moto=${1:?usage: ecs-api-peers.sh MOTO_CHECKOUT}
moto=$(cd "$moto" && pwd)
here=$(cd "$(dirname "$0")/.." && pwd)
if [ -n "${FARGATE_RUN_BIN:-}" ]; then bin=$FARGATE_RUN_BIN
elif [ -x "$here/.build/release/fargate-run" ]; then bin=$here/.build/release/fargate-run
else bin=$here/.build/debug/fargate-run; fi
[ -x "$bin" ] || { echo "build first: swift build --product fargate-run" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "run as root (serve starts real tasks)" >&2; exit 1; }
[ -f "$moto/tests/test_ecs/test_ecs.py" ] && [ -d "$moto/moto/ecs" ] \
  || { echo "$moto is not a moto checkout (no tests/test_ecs/test_ecs.py)" >&2; exit 1; }
python=${PYTHON:-python3}
"$python" -c 'import pytest, boto3, requests, responses, werkzeug, xmltodict, cryptography' 2>/dev/null \
  || { echo "$python lacks moto's test dependencies (see PYTHON in this script's header)" >&2; exit 1; }
bridge=${PEERS_BRIDGE:-frpeers0}
subnet=${PEERS_SUBNET:-198.19.201.0/24}
terraform=${TERRAFORM:-$(command -v terraform || true)}
mirror=${TF_PLUGIN_MIRROR:-/opt/tf-plugins}

work=$(mktemp -d)
root=$work/root
bridge_existed=0
ip link show "$bridge" >/dev/null 2>&1 && bridge_existed=1
host=
endpoint=

# Stop every task (reset), wait for them to be gone, then the host, then gc: SIGTERM alone
# stops the host and leaves its tasks running.
cleanup() {
  set +e
  if [ -n "$host" ] && kill -0 "$host" 2>/dev/null; then
    [ -n "$endpoint" ] && curl -s -m 30 -X POST "$endpoint/moto-api/reset" >/dev/null
    # A task still provisioning can miss the reset's stop: stop what is left by id.
    for i in $(seq 1 120); do
      [ "$("$bin" ps --root "$root" 2>/dev/null | wc -l)" -le 1 ] && break
      if [ "$i" = 5 ]; then
        "$bin" ps --root "$root" 2>/dev/null | awk 'NR > 1 {print $1}' | while read -r id; do
          "$bin" stop --root "$root" "$id" >/dev/null 2>&1
        done
      fi
      sleep 1
    done
    kill "$host" 2>/dev/null; wait "$host" 2>/dev/null
  fi
  "$bin" gc --root "$root" >/dev/null 2>&1
  [ -n "${PEERS_KEEP:-}" ] && mkdir -p "$PEERS_KEEP" && cp "$work"/*.log "$PEERS_KEEP"/ 2>/dev/null
  [ "$bridge_existed" = 0 ] && ip link del "$bridge" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# moto's tests expect account 123456789012 (moto.core.DEFAULT_ACCOUNT_ID) in every ARN.
"$bin" serve --root "$root" --listen 127.0.0.1:0 --test-mode --account 123456789012 \
  --bridge "$bridge" --subnet "$subnet" --log-level warning 2>"$work/serve.log" &
host=$!
for _ in $(seq 1 200); do [ -s "$root/api-address" ] && break; sleep 0.05; done
[ -s "$root/api-address" ] || { echo "serve did not start:" >&2; cat "$work/serve.log" >&2; exit 1; }
endpoint=http://$(cat "$root/api-address")
echo "serve: $endpoint ($("$bin" --version 2>/dev/null | head -1))"

# --- moto -------------------------------------------------------------------------------------
# The subset: tests that need only clusters, task definitions, Fargate tasks, tags (and the
# services the tag tests create); none needs EC2 or container instances. 48 ids once expanded
# (test_ecs_task_definitions.py has 4 tests, two tests have 2 parameters each).
subset=(
  tests/test_ecs/test_ecs.py::test_create_cluster
  tests/test_ecs/test_ecs.py::test_create_cluster_with_setting
  tests/test_ecs/test_ecs.py::test_create_cluster_with_capacity_providers
  tests/test_ecs/test_ecs.py::test_put_capacity_providers
  tests/test_ecs/test_ecs.py::test_list_clusters
  tests/test_ecs/test_ecs.py::test_create_cluster_with_tags
  tests/test_ecs/test_ecs.py::test_describe_clusters
  tests/test_ecs/test_ecs.py::test_describe_clusters_missing
  tests/test_ecs/test_ecs.py::test_delete_cluster
  tests/test_ecs/test_ecs.py::test_delete_cluster_exceptions
  tests/test_ecs/test_ecs.py::test_update_cluster
  tests/test_ecs/test_ecs.py::test_register_task_definition
  tests/test_ecs/test_ecs.py::test_register_task_definition_fargate_with_pid_mode
  tests/test_ecs/test_ecs.py::test_register_task_definition_memory_validation_ec2
  tests/test_ecs/test_ecs.py::test_register_task_definition_memory_validation_fargate
  tests/test_ecs/test_ecs.py::test_register_task_definition_container_definition_validation
  tests/test_ecs/test_ecs.py::test_list_task_definitions
  tests/test_ecs/test_ecs.py::test_list_task_definitions_with_family_prefix
  tests/test_ecs/test_ecs.py::test_list_task_definitions_with_status_filter
  tests/test_ecs/test_ecs.py::test_describe_task_definitions
  tests/test_ecs/test_ecs.py::test_deregister_task_definition_1
  tests/test_ecs/test_ecs.py::test_deregister_task_definition_2
  tests/test_ecs/test_ecs.py::test_describe_task_definition_by_family
  tests/test_ecs/test_ecs.py::test_list_task_definition_families
  tests/test_ecs/test_ecs.py::test_ecs_task_definition_placement_constraints
  tests/test_ecs/test_ecs_efs.py::test_register_task_definition__use_efs_root
  tests/test_ecs/test_ecs_task_def_tags.py::test_describe_task_definition_with_tags
  tests/test_ecs/test_ecs_task_definitions.py
  tests/test_ecs/test_ecs.py::test_run_task_default_cluster
  tests/test_ecs/test_ecs.py::test_run_task_exceptions
  tests/test_ecs/test_ecs.py::test_run_task_with_capacity_provider_strategy_fargate
  tests/test_ecs/test_ecs.py::test_run_task_with_launch_type_and_capacity_provider_strategy_fails
  tests/test_ecs/test_ecs.py::test_run_task_uses_cluster_default_capacity_provider_strategy
  tests/test_ecs/test_ecs.py::test_list_tasks_exceptions
  tests/test_ecs/test_ecs.py::test_describe_tasks_exceptions
  tests/test_ecs/test_ecs.py::test_stop_task_exceptions
  tests/test_ecs/test_ecs.py::test_list_tags_for_resource
  tests/test_ecs/test_ecs.py::test_list_tags_exceptions
  tests/test_ecs/test_ecs.py::test_list_tags_for_resource_ecs_service
  tests/test_ecs/test_ecs.py::test_ecs_service_tag_resource
  tests/test_ecs/test_ecs.py::test_ecs_service_tag_resource_overwrites_tag
  tests/test_ecs/test_ecs.py::test_ecs_service_untag_resource
  tests/test_ecs/test_ecs.py::test_ecs_service_untag_resource_multiple_tags
)
# Run from the checkout so that its own moto is imported; moto's mock sets its own fake keys.
set +e
(cd "$moto" && env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY -u AWS_SESSION_TOKEN \
   -u AWS_PROFILE -u AWS_ENDPOINT_URL -u AWS_ENDPOINT_URL_ECS \
   TEST_SERVER_MODE=true TEST_SERVER_MODE_ENDPOINT="$endpoint" COLUMNS=300 \
   "$python" -m pytest -p no:cacheprovider -q -rA --color=no --tb=short "${subset[@]}") >"$work/moto.log" 2>&1
set -e
passed=$(grep -c '^PASSED ' "$work/moto.log" || true)
total=$(grep -c -E '^(PASSED|FAILED|ERROR|SKIPPED) ' "$work/moto.log" || true)
echo "moto ECS subset: $passed of $total passed"
grep -E '^(FAILED|ERROR) ' "$work/moto.log" | sed 's/^/  /' || true
# RunTask tests start tasks whose images (docker/hello-world) cannot be pulled without Docker
# Hub; reset stops them before Terraform runs.
curl -s -m 30 -X POST "$endpoint/moto-api/reset" >/dev/null

# --- terraform --------------------------------------------------------------------------------
if [ -z "$terraform" ] || [ ! -d "$mirror/registry.terraform.io/hashicorp/aws/5.100.0" ]; then
  echo "terraform: skipped (need terraform and hashicorp/aws 5.100.0 in $mirror)"
  exit 0
fi
image=oci:$here/.build/test-images/busybox/oci:latest
if [ ! -d "$here/.build/test-images/busybox/oci" ]; then
  "$here/rootfs-tools/build-busybox-image.sh" "$work/img" >/dev/null
  image=oci:$work/img/oci:latest
fi
mkdir -p "$work/tf"
cp "$here/Examples/terraform/main.tf" "$work/tf/"
cat >"$work/tf/cli.tfrc" <<EOF
provider_installation {
  filesystem_mirror {
    path    = "$mirror"
    include = ["registry.terraform.io/hashicorp/aws"]
  }
  direct { exclude = ["registry.terraform.io/hashicorp/aws"] }
}
disable_checkpoint = true
EOF
export TF_CLI_CONFIG_FILE=$work/tf/cli.tfrc CHECKPOINT_DISABLE=1 TF_IN_AUTOMATION=1 AWS_EC2_METADATA_DISABLED=true
unset AWS_PROFILE AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN
tfvars=(-input=false -no-color -var "ecs_endpoint=$endpoint" -var "image=$image")
steps=()
step() { # NAME EXPECTED-EXIT COMMAND...
  local name=$1 want=$2 rc; shift 2
  set +e; (cd "$work/tf" && "$@") >>"$work/terraform.log" 2>&1; rc=$?; set -e
  if [ "$rc" = "$want" ]; then steps+=("$name ok"); return 0; fi
  steps+=("$name FAILED (exit $rc)"); return 1
}
run_task() { # a task of the definition Terraform registered; it must exit 0
  "$python" - "$endpoint" <<'PY'
import sys, time, boto3
ecs = boto3.client("ecs", endpoint_url=sys.argv[1], region_name="us-east-1",
                   aws_access_key_id="local", aws_secret_access_key="local")
r = ecs.run_task(cluster="tf-demo", taskDefinition="tf-hello", launchType="FARGATE",
                 networkConfiguration={"awsvpcConfiguration": {"subnets": ["subnet-local"]}})
arn = r["tasks"][0]["taskArn"]
ecs.get_waiter("tasks_stopped").wait(cluster="tf-demo", tasks=[arn], WaiterConfig={"Delay": 1, "MaxAttempts": 120})
t = ecs.describe_tasks(cluster="tf-demo", tasks=[arn])["tasks"][0]
codes = [c.get("exitCode") for c in t["containers"]]
print(t.get("stoppedReason"), codes)
sys.exit(0 if codes == [0] else 1)
PY
}
if step init 0 "$terraform" init -input=false -no-color \
   && step apply 0 "$terraform" apply -auto-approve "${tfvars[@]}"; then
  step "plan-after-apply(no-changes)" 0 "$terraform" plan -detailed-exitcode "${tfvars[@]}" || true
  step run-task 0 run_task || true
  if step tag-change-apply 0 "$terraform" apply -auto-approve "${tfvars[@]}" -var environment=staging; then
    step "plan-after-tag-change(no-changes)" 0 "$terraform" plan -detailed-exitcode "${tfvars[@]}" -var environment=staging || true
  fi
fi
step destroy 0 "$terraform" destroy -auto-approve "${tfvars[@]}" -var environment=staging || true
echo "terraform ($("$terraform" version | head -1), aws provider 5.100.0):"
printf '  %s\n' "${steps[@]}"
if printf '%s\n' "${steps[@]}" | grep -q FAILED; then
  echo "  terraform log:"; sed 's/^/    /' "$work/terraform.log" | tail -60
fi
