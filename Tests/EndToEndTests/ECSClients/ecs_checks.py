"""Checks of fargate-run's ECS API with boto3, run by ECSAPITests against a real `serve`.

    ecs_checks.py CHECK     (CHECK: lifecycle, deploy-action, errors, bad-input, sigv4, services,
                             load-balancer, discovery)

Environment: ECS_ENDPOINT (http://127.0.0.1:PORT), IMAGE (the test image, oci:DIR:TAG), and for
sigv4 the key pairs the server was given. Each check prints what it verified and exits 1 with
the failed expectation on the first one that does not hold.
"""
import http.client
import json
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid

import boto3
import botocore.exceptions
from botocore.config import Config

ENDPOINT = os.environ["ECS_ENDPOINT"]
IMAGE = os.environ.get("IMAGE", "")
NETWORK = {"awsvpcConfiguration": {"subnets": ["subnet-local"], "securityGroups": ["sg-ci"], "assignPublicIp": "DISABLED"}}
# Waiters poll every second here, at most a minute (ECS's are 6 s x 100).
FAST = {"Delay": 1, "MaxAttempts": 60}


def client(key="test", secret="test", token=None, endpoint=ENDPOINT):
    return boto3.client("ecs", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id=key,
                        aws_secret_access_key=secret, aws_session_token=token,
                        config=Config(retries={"max_attempts": 1}))


def expect(condition, what):
    if not condition:
        print("FAILED: " + what, file=sys.stderr)
        sys.exit(1)


def ok(what):
    print("ok  " + what, flush=True)


def error_of(call, *args, **kwargs):
    """The (code, message, HTTP status) of a call that must fail."""
    try:
        call(*args, **kwargs)
    except botocore.exceptions.ClientError as e:
        return e.response["Error"]["Code"], e.response["Error"]["Message"], e.response["ResponseMetadata"]["HTTPStatusCode"]
    expect(False, "%s succeeded but should have failed" % getattr(call, "__name__", call))


def expect_error(code, fragment, call, *args, **kwargs):
    got = error_of(call, *args, **kwargs)
    expect(got[0] == code and fragment in got[1], "%s: expected %s containing %r, got %r" % (call.__name__, code, fragment, got))
    ok("%s -> %s: %s" % (call.__name__, got[0], got[1].splitlines()[0]))


def definition(family, command, essential_side=False, **extra):
    d = {
        "family": family, "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"], "cpu": "256", "memory": "512",
        "containerDefinitions": [
            {"name": "app", "image": IMAGE, "essential": True, "command": ["sh", "-c", command], "stopTimeout": 2,
             "environment": [{"name": "GREETING", "value": "hello"}]},
            {"name": "side", "image": IMAGE, "essential": essential_side,
             "command": ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 0.2; done"]},
        ],
    }
    d.update(extra)
    return d


def check_lifecycle():
    ecs = client()
    expect(any(a.endswith(":cluster/default") for a in ecs.list_clusters()["clusterArns"]), "the default cluster exists")
    c = ecs.create_cluster(clusterName="ci", tags=[{"key": "team", "value": "platform"}])["cluster"]
    expect(c["clusterArn"] == "arn:aws:ecs:us-east-1:000000000000:cluster/ci" and c["status"] == "ACTIVE", "created: %r" % c)
    d = ecs.describe_clusters(clusters=["ci", "nope"], include=["TAGS"])
    expect(d["clusters"][0]["tags"] == [{"key": "team", "value": "platform"}], "cluster tags: %r" % d)
    expect(d["failures"] == [{"arn": "arn:aws:ecs:us-east-1:000000000000:cluster/nope", "reason": "MISSING"}], "missing cluster: %r" % d["failures"])
    ok("clusters: default, create with tags, describe with MISSING")

    r1 = ecs.register_task_definition(**definition("api-web", "echo started $GREETING; exec sleep 1000"), tags=[{"key": "tier", "value": "web"}])
    td1 = r1["taskDefinition"]
    expect(td1["revision"] == 1 and td1["taskDefinitionArn"] == "arn:aws:ecs:us-east-1:000000000000:task-definition/api-web:1", "rev 1: %r" % td1)
    expect(td1["status"] == "ACTIVE" and "FARGATE" in td1["compatibilities"], "registered: %r" % td1)
    td2 = ecs.register_task_definition(**definition("api-web", "echo started $GREETING; exec sleep 1000"))["taskDefinition"]
    expect(td2["revision"] == 2, "revisions count per family")
    expect(ecs.describe_task_definition(taskDefinition="api-web")["taskDefinition"]["revision"] == 2, "family is its latest ACTIVE revision")
    by_rev = ecs.describe_task_definition(taskDefinition="api-web:1", include=["TAGS"])
    expect(by_rev["taskDefinition"]["revision"] == 1 and by_rev["tags"] == [{"key": "tier", "value": "web"}], "family:rev with tags: %r" % by_rev)
    expect(ecs.describe_task_definition(taskDefinition=td2["taskDefinitionArn"])["taskDefinition"]["revision"] == 2, "by ARN")
    listed = ecs.list_task_definitions(familyPrefix="api-web", sort="DESC")["taskDefinitionArns"]
    expect(listed == [td2["taskDefinitionArn"], td1["taskDefinitionArn"]], "list DESC: %r" % listed)
    page = ecs.list_task_definitions(familyPrefix="api-web", maxResults=1)
    rest = ecs.list_task_definitions(familyPrefix="api-web", maxResults=1, nextToken=page["nextToken"])
    expect(page["taskDefinitionArns"] == [td1["taskDefinitionArn"]] and rest["taskDefinitionArns"] == [td2["taskDefinitionArn"]]
           and "nextToken" not in rest, "paging: %r %r" % (page, rest))
    expect("api-web" in ecs.list_task_definition_families(familyPrefix="api")["families"], "families")
    ok("task definitions: revisions, family/family:rev/ARN, tags, list order and paging")

    run = ecs.run_task(cluster="ci", taskDefinition="api-web", count=2, startedBy="ci-job", group="batch",
                       launchType="FARGATE", networkConfiguration=NETWORK, enableExecuteCommand=True,
                       tags=[{"key": "job", "value": "42"}],
                       overrides={"containerOverrides": [{"name": "app", "environment": [{"name": "GREETING", "value": "overridden"}]}]})
    expect(run["failures"] == [] and len(run["tasks"]) == 2, "run-task: %r" % run)
    arns = [t["taskArn"] for t in run["tasks"]]
    for t in run["tasks"]:
        expect(t["desiredStatus"] == "RUNNING" and t["lastStatus"] in ("PROVISIONING", "PENDING", "RUNNING"), "as created: %r" % t)
        expect(t["taskArn"].startswith("arn:aws:ecs:us-east-1:000000000000:task/ci/") and len(t["taskArn"].split("/")[-1]) == 32, t["taskArn"])
        expect(t["group"] == "batch" and t["startedBy"] == "ci-job" and t["launchType"] == "FARGATE", "group/startedBy: %r" % t)
        expect(t["taskDefinitionArn"] == td2["taskDefinitionArn"], "the latest revision ran")
    ecs.get_waiter("tasks_running").wait(cluster="ci", tasks=arns, WaiterConfig=FAST)
    described = ecs.describe_tasks(cluster="ci", tasks=arns, include=["TAGS"])
    expect(described["failures"] == [], "described: %r" % described["failures"])
    for t in described["tasks"]:
        expect(t["lastStatus"] == "RUNNING" and all(c["lastStatus"] == "RUNNING" for c in t["containers"]), "running: %r" % t)
        expect({"key": "job", "value": "42"} in t["tags"], "tags with include TAGS: %r" % t.get("tags"))
        given = {c["name"]: c for c in t["overrides"]["containerOverrides"]}
        expect(given["app"].get("environment") == [{"name": "GREETING", "value": "overridden"}]
               and t["overrides"]["inferenceAcceleratorOverrides"] == [], "RunTask's overrides described: %r" % t["overrides"])
        eni = {d["name"]: d["value"] for d in t["attachments"][0]["details"]}
        expect(eni["privateIPv4Address"].count(".") == 3, "an awsvpc address: %r" % eni)
    expect("tags" not in ecs.describe_tasks(cluster="ci", tasks=arns[:1])["tasks"][0], "no tags unless asked")
    ok("run-task count 2 with overrides, wait tasks-running, describe with tags and ENI")

    expect(sorted(ecs.list_tasks(cluster="ci")["taskArns"]) == sorted(arns), "list-tasks RUNNING")
    expect(sorted(ecs.list_tasks(cluster="ci", startedBy="ci-job")["taskArns"]) == sorted(arns), "by startedBy")
    expect(sorted(ecs.list_tasks(cluster="ci", family="api-web")["taskArns"]) == sorted(arns), "by family")
    expect(ecs.list_tasks(cluster="ci", family="other")["taskArns"] == [], "other family")
    expect(ecs.list_tasks(cluster="ci", desiredStatus="STOPPED")["taskArns"] == [], "none stopped yet")
    expect(ecs.list_tasks(cluster="default")["taskArns"] == [], "not in another cluster")
    first = ecs.list_tasks(cluster="ci", maxResults=1)
    expect(len(first["taskArns"]) == 1 and "nextToken" in first, "list-tasks pages")
    counts = ecs.describe_clusters(clusters=["ci"])["clusters"][0]
    expect(counts["runningTasksCount"] == 2 and counts["pendingTasksCount"] == 0, "cluster counts: %r" % counts)
    ok("list-tasks filters and paging; cluster counts")

    stopped = ecs.stop_task(cluster="ci", task=arns[0], reason="done with it")["task"]
    expect(stopped["desiredStatus"] == "STOPPED" and stopped["stoppedReason"] == "done with it", "stop-task: %r" % stopped)
    # The id alone names it too.
    ecs.stop_task(cluster="ci", task=arns[1].split("/")[-1])
    ecs.get_waiter("tasks_stopped").wait(cluster="ci", tasks=arns, WaiterConfig=FAST)
    for t in ecs.describe_tasks(cluster="ci", tasks=arns)["tasks"]:
        expect(t["lastStatus"] == "STOPPED" and t["stopCode"] == "UserInitiated", "stopped: %r" % t)
        expect(all(isinstance(c.get("exitCode"), int) for c in t["containers"]), "every container has an exitCode: %r" % t["containers"])
        side = [c for c in t["containers"] if c["name"] == "side"][0]
        expect(side["exitCode"] == 0, "side trapped SIGTERM: %r" % side)
    expect(sorted(ecs.list_tasks(cluster="ci", desiredStatus="STOPPED")["taskArns"]) == sorted(arns), "list STOPPED")
    expect(ecs.list_tasks(cluster="ci")["taskArns"] == [], "none running")
    ok("stop-task (ARN and id), wait tasks-stopped, exit codes, list STOPPED")

    # A task that ends by itself: its essential container's exit code.
    td3 = ecs.register_task_definition(**definition("api-batch", "echo working; exit 3"))["taskDefinition"]
    one = ecs.run_task(cluster="ci", taskDefinition=td3["taskDefinitionArn"], networkConfiguration=NETWORK)["tasks"][0]["taskArn"]
    waiter_failed = False
    try:
        ecs.get_waiter("tasks_running").wait(cluster="ci", tasks=[one], WaiterConfig=FAST)
    except botocore.exceptions.WaiterError:
        waiter_failed = True  # it may stop before a poll sees it RUNNING: the waiter's failure acceptor
    ecs.get_waiter("tasks_stopped").wait(cluster="ci", tasks=[one], WaiterConfig=FAST)
    t = ecs.describe_tasks(cluster="ci", tasks=[one])["tasks"][0]
    app = [c for c in t["containers"] if c["name"] == "app"][0]
    expect(app["exitCode"] == 3 and t["stopCode"] == "EssentialContainerExited", "exit 3: %r" % t)
    ok("a task that exits 3: EssentialContainerExited, exitCode 3 (tasks-running waiter failed early: %s)" % waiter_failed)

    # clientToken: a retried RunTask starts nothing more.
    token = str(uuid.uuid4())
    a = ecs.run_task(cluster="ci", taskDefinition="api-web", networkConfiguration=NETWORK, clientToken=token)["tasks"][0]["taskArn"]
    b = ecs.run_task(cluster="ci", taskDefinition="api-web", networkConfiguration=NETWORK, clientToken=token)["tasks"][0]["taskArn"]
    expect(a == b and ecs.list_tasks(cluster="ci")["taskArns"] == [a], "one task for one clientToken")
    ok("clientToken idempotency")

    # Tags on each kind of resource.
    for arn in ("arn:aws:ecs:us-east-1:000000000000:cluster/ci", td1["taskDefinitionArn"], a):
        ecs.tag_resource(resourceArn=arn, tags=[{"key": "a", "value": "1"}, {"key": "b", "value": "2"}])
        ecs.untag_resource(resourceArn=arn, tagKeys=["a"])
        tags = ecs.list_tags_for_resource(resourceArn=arn)["tags"]
        expect({"key": "b", "value": "2"} in tags and all(t["key"] != "a" for t in tags), "%s tags: %r" % (arn, tags))
    ok("tag, untag, list tags: cluster, task definition, task")

    expect_error("ClusterContainsTasksException", "Tasks are active", ecs.delete_cluster, cluster="ci")
    ecs.stop_task(cluster="ci", task=a)
    ecs.get_waiter("tasks_stopped").wait(cluster="ci", tasks=[a], WaiterConfig=FAST)

    dereg = ecs.deregister_task_definition(taskDefinition="api-web:1")["taskDefinition"]
    expect(dereg["status"] == "INACTIVE" and "deregisteredAt" in dereg, "deregistered: %r" % dereg)
    expect(td1["taskDefinitionArn"] not in ecs.list_task_definitions()["taskDefinitionArns"], "not ACTIVE any more")
    expect(td1["taskDefinitionArn"] in ecs.list_task_definitions(status="INACTIVE")["taskDefinitionArns"], "listed INACTIVE")
    expect_error("InvalidParameterException", "TaskDefinition is inactive", ecs.run_task, cluster="ci", taskDefinition="api-web:1",
                 networkConfiguration=NETWORK)
    gone = ecs.delete_task_definitions(taskDefinitions=["api-web:1"])
    expect(gone["taskDefinitions"][0]["status"] == "DELETE_IN_PROGRESS" and gone["failures"] == [], "deleted: %r" % gone)
    still = ecs.delete_task_definitions(taskDefinitions=["api-web:2"])
    expect(still["failures"][0]["reason"].startswith("The specified task definition is still in ACTIVE status"), "%r" % still)
    ok("deregister, list INACTIVE, run refused, delete-task-definitions")

    deleted = ecs.delete_cluster(cluster="ci")["cluster"]
    expect(deleted["status"] == "INACTIVE", "deleted cluster: %r" % deleted)
    expect_error("ClusterNotFoundException", "Cluster not found.", ecs.list_tasks, cluster="ci")
    ok("delete-cluster")

    # AWS_ENDPOINT_URL_ECS: a client made without endpoint_url finds the server.
    os.environ.update({"AWS_ENDPOINT_URL_ECS": ENDPOINT, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "us-east-1"})
    expect(any(a.endswith(":cluster/default") for a in boto3.client("ecs").list_clusters()["clusterArns"]), "AWS_ENDPOINT_URL_ECS")
    ok("AWS_ENDPOINT_URL_ECS")


def clean_null_keys(value):
    """The deploy action's cleanNullKeys: nulls and empty values go."""
    if isinstance(value, dict):
        out = {k: clean_null_keys(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if v not in (None, "", [], {})}
    if isinstance(value, list):
        return [clean_null_keys(v) for v in value if v is not None]
    return value


def check_deploy_action():
    """amazon-ecs-deploy-task-definition's run-task job: register, run, wait for it to stop,
    then every container's exitCode must be 0."""
    ecs = client()
    with open(os.environ["TASK_DEFINITION_FILE"]) as f:
        document = clean_null_keys(json.load(f))
    for member in ("compatibilities", "taskDefinitionArn", "requiresAttributes", "revision", "status", "registeredAt",
                   "deregisteredAt", "registeredBy"):
        document.pop(member, None)
    arn = ecs.register_task_definition(**document)["taskDefinition"]["taskDefinitionArn"]
    run = ecs.run_task(startedBy="GitHub-Actions", cluster="default", taskDefinition=arn,
                       overrides={"containerOverrides": []}, launchType="FARGATE", networkConfiguration=NETWORK,
                       tags=[], volumeConfigurations=[])
    expect(not run["failures"], "%s is %s" % (run["failures"][0].get("arn"), run["failures"][0].get("reason")) if run["failures"] else "")
    task_arns = [t["taskArn"] for t in run["tasks"]]
    ecs.get_waiter("tasks_stopped").wait(cluster="default", tasks=task_arns, WaiterConfig=FAST)
    containers = [c for t in ecs.describe_tasks(cluster="default", tasks=task_arns)["tasks"] for c in t["containers"]]
    failed = [c for c in containers if c.get("exitCode") != 0]
    expect(not failed, "Run task failed: %s" % json.dumps([c.get("reason") for c in failed]))
    ok("deploy action run-task job: registered %s, ran %d task(s), all %d containers exited 0" % (arn, len(task_arns), len(containers)))


def check_errors():
    ecs = client()
    expect_error("ClusterNotFoundException", "Cluster not found.", ecs.run_task, cluster="nope", taskDefinition="x",
                 networkConfiguration=NETWORK)
    expect_error("ClientException", "Unable to describe task definition.", ecs.describe_task_definition, taskDefinition="nope:7")
    bad = definition("bad", "true")
    bad["cpu"] = "300"
    expect_error("ClientException", "cpu", ecs.register_task_definition, **bad)
    # Registered as ECS registers it, for EC2 only; a Fargate run of it is refused.
    ec2 = ecs.register_task_definition(family="ec2-only", containerDefinitions=[{"name": "a", "image": IMAGE, "memory": 128}])
    expect(ec2["taskDefinition"]["compatibilities"] == ["EC2"], f"an EC2 definition: {ec2['taskDefinition']['compatibilities']}")
    expect_error("InvalidParameterException", "Task definition does not support launch_type FARGATE.", ecs.run_task,
                 taskDefinition="ec2-only", networkConfiguration=NETWORK)
    expect_error("ClientException", "Container.image should not be null or empty.", ecs.register_task_definition,
                 family="ec2-only", containerDefinitions=[{"name": "a", "image": "", "memory": 128}])
    ecs.register_task_definition(**definition("errs", "sleep 100"))
    expect_error("ClientException", "TaskDefinition not found.", ecs.run_task, taskDefinition="errs:9", networkConfiguration=NETWORK)
    expect_error("InvalidParameterException", "Network Configuration must be provided", ecs.run_task, taskDefinition="errs")
    expect_error("InvalidParameterException", "count must be between 1 and 10", ecs.run_task, taskDefinition="errs", count=11,
                 networkConfiguration=NETWORK)
    expect_error("InvalidParameterException", "not both", ecs.run_task, taskDefinition="errs", launchType="FARGATE",
                 capacityProviderStrategy=[{"capacityProvider": "FARGATE_SPOT", "weight": 1}], networkConfiguration=NETWORK)
    expect_error("InvalidParameterException", "capacity provider", ecs.run_task, taskDefinition="errs",
                 capacityProviderStrategy=[{"capacityProvider": "mine", "weight": 1}], networkConfiguration=NETWORK)
    ec2 = ecs.run_task(taskDefinition="errs", launchType="EC2", networkConfiguration=NETWORK)
    expect(ec2["tasks"] == [] and ec2["failures"][0]["reason"] == "No Container Instances were found in your cluster.", "EC2: %r" % ec2)
    ok("run-task EC2 -> failures: No Container Instances were found in your cluster.")
    expect_error("InvalidParameterException", "Tasks cannot be empty.", ecs.describe_tasks, tasks=[])
    missing = ecs.describe_tasks(tasks=["0123456789abcdef0123456789abcdef"])
    expect(missing["tasks"] == [] and missing["failures"][0]["reason"] == "MISSING", "MISSING: %r" % missing)
    expect_error("InvalidParameterException", "The referenced task was not found.", ecs.stop_task, task="0123456789abcdef0123456789abcdef")
    expect_error("InvalidParameterException", "Task Identifier is invalid", ecs.stop_task, task="not-a-task")
    expect_error("ServiceNotFoundException", "Service not found.", ecs.list_tasks, serviceName="nope")
    expect_error("InvalidParameterException", "The ARN provided is invalid.", ecs.tag_resource, resourceArn="arn:bad",
                 tags=[{"key": "a", "value": "b"}])
    expect_error("ClusterNotFoundException", "Cluster not found.", ecs.list_tags_for_resource,
                 resourceArn="arn:aws:ecs:us-east-1:000000000000:cluster/nope")
    expect_error("ClientException", "Unable to describe task definition.", ecs.list_tags_for_resource,
                 resourceArn="arn:aws:ecs:us-east-1:000000000000:task-definition/nope:1")
    expect_error("InvalidParameterException", "aws:", ecs.create_cluster, clusterName="t", tags=[{"key": "aws:x", "value": "y"}])
    expect_error("InvalidParameterException", "Cluster name", ecs.create_cluster, clusterName="bad name!")
    expect_error("UnsupportedFeatureException", "CreateCapacityProvider", ecs.create_capacity_provider, name="cp",
                 autoScalingGroupProvider={"autoScalingGroupArn": "arn:aws:autoscaling:us-east-1:000000000000:autoScalingGroup:x"})
    expect(ecs.list_tasks()["taskArns"] == [], "no refused request started a task")


def oversized_head(target, length):
    """The status a request announcing a `length`-byte body gets from its head alone. The
    server refuses it at the head and closes; a client still sending the body could then meet
    the close (a broken pipe) before it read the answer, so none is sent."""
    host, _, port = ENDPOINT.split("://", 1)[1].rstrip("/").partition(":")
    conn = http.client.HTTPConnection(host, int(port or 80), timeout=20)
    try:
        conn.putrequest("POST", "/")
        conn.putheader("Content-Type", "application/x-amz-json-1.1")
        conn.putheader("X-Amz-Target", "AmazonEC2ContainerServiceV20141113." + target)
        conn.putheader("Content-Length", str(length))
        conn.endheaders()
        return conn.getresponse().status
    finally:
        conn.close()


def raw(method, target, body, headers=None):
    """One unsigned request (the default server accepts any signature, and none)."""
    h = {"Content-Type": "application/x-amz-json-1.1"}
    if target:
        h["X-Amz-Target"] = "AmazonEC2ContainerServiceV20141113." + target
    h.update(headers or {})
    req = urllib.request.Request(ENDPOINT + "/", data=body, method=method, headers=h)
    try:
        with urllib.request.urlopen(req, timeout=20) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def check_bad_input():
    ecs = client()
    before = (ecs.list_clusters()["clusterArns"], ecs.list_task_definitions()["taskDefinitionArns"])
    cases = [
        ("POST", "Frobnicate", b"{}", 400, "UnknownOperationException"),
        ("POST", None, b"{}", 400, "UnknownOperationException"),
        ("GET", "ListClusters", None, 400, "UnknownOperationException"),
        ("POST", "CreateCluster", b"{not json", 400, "SerializationException"),
        ("POST", "CreateCluster", b'{"clusterName": 5}', 400, "SerializationException"),
        ("POST", "RegisterTaskDefinition", b'{"family": "x", "containerDefinitions": "no"}', 400, "SerializationException"),
        ("POST", "RegisterTaskDefinition", b'{"family": "x", "containerDefinitions": []}', 400, "ClientException"),
        ("POST", "RunTask", b'{"count": "two", "taskDefinition": "x"}', 400, "SerializationException"),
        ("POST", "DescribeTasks", b"[]", 400, "SerializationException"),
    ]
    for method, target, body, status, code in cases:
        got, headers, data = raw(method, target, body)
        expect(got == status and json.loads(data).get("__type") == code, "%s %s %r: %s %r" % (method, target, body, got, data))
        expect(headers.get("x-amzn-RequestId"), "a request id on every answer")
        ok("%s %s %s -> %d %s" % (method, target, (body or b"")[:40], got, code))
    got = oversized_head("CreateCluster", 2 << 20)
    expect(got == 413, "a 2 MiB body is refused: %d" % got)
    ok("a 2 MiB body -> 413")
    after = (ecs.list_clusters()["clusterArns"], ecs.list_task_definitions()["taskDefinitionArns"])
    expect(before == after, "nothing changed: %r -> %r" % (before, after))
    ok("nothing changed, the server goes on serving")


def check_sigv4():
    key, secret, account = os.environ["GOOD_KEY"], os.environ["GOOD_SECRET"], os.environ["GOOD_ACCOUNT"]
    c = client(key, secret).create_cluster(clusterName="signed")["cluster"]
    expect(c["clusterArn"] == "arn:aws:ecs:us-east-1:%s:cluster/signed" % account, "the key's account in ARNs: %r" % c["clusterArn"])
    ok("a listed key pair: its account in ARNs")
    expect_error("InvalidSignatureException", "The request signature we calculated does not match", client(key, "wrong").list_clusters)
    expect_error("UnrecognizedClientException", "The security token included in the request is invalid.",
                 client("AKIDUNKNOWN", "x").list_clusters)
    token_key = os.environ["TOKEN_KEY"]
    expect_error("UnrecognizedClientException", "security token", client(token_key, os.environ["TOKEN_SECRET"]).list_clusters)
    client(token_key, os.environ["TOKEN_SECRET"], token=os.environ["TOKEN"]).list_clusters()
    ok("a key with a session token needs it")
    got, _, data = raw("POST", "ListClusters", b"{}")
    expect(got == 400 and json.loads(data)["__type"] == "MissingAuthenticationTokenException", "unsigned: %d %r" % (got, data))
    ok("unsigned -> MissingAuthenticationTokenException")


# The server as a child of the container's shell, its pid in /tmp/httpd.pid: killing it leaves
# the task running with nothing listening (a target that fails its health checks). The shell
# exits on SIGTERM, so stopping the task takes no stopTimeout.
SERVE_KILLABLE = ("echo %s > /tmp/index.html; echo $HOSTNAME >> /tmp/index.html; trap 'exit 0' TERM; "
                  "httpd -f -p 8080 -h /tmp & echo $! > /tmp/httpd.pid; while true; do sleep 1 & wait $!; done")


def service_definition(version, command=None):
    serve = "echo %s > /tmp/index.html; echo $HOSTNAME >> /tmp/index.html; exec httpd -f -p 8080 -h /tmp" % version
    return {
        "family": "svc-web", "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"], "cpu": "256", "memory": "512",
        "containerDefinitions": [{"name": "app", "image": IMAGE, "essential": True, "command": ["sh", "-c", command or serve],
                                  "portMappings": [{"containerPort": 8080, "name": "http"}], "stopTimeout": 2}],
    }


def service_tasks(ecs, status="RUNNING", service="web"):
    arns = ecs.list_tasks(serviceName=service, desiredStatus=status)["taskArns"]
    return ecs.describe_tasks(tasks=arns)["tasks"] if arns else []


def wait_for(what, condition, seconds=120):
    deadline = time.time() + seconds
    while time.time() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.5)
    expect(False, "timed out waiting for " + what)


def check_services():
    """A service kept at 3 tasks: replaced when one dies, a rolling deployment to a new
    revision, a broken revision rolled back by the circuit breaker, then deleted."""
    ecs = client()
    root = os.environ["ROOT"]
    v1 = ecs.register_task_definition(**service_definition("v1"))["taskDefinition"]["taskDefinitionArn"]
    created = ecs.create_service(serviceName="web", taskDefinition=v1, desiredCount=3, networkConfiguration=NETWORK,
                                 deploymentConfiguration={"deploymentCircuitBreaker": {"enable": True, "rollback": True}},
                                 tags=[{"key": "app", "value": "web"}], propagateTags="SERVICE")["service"]
    expect(created["status"] == "ACTIVE" and created["desiredCount"] == 3 and len(created["deployments"]) == 1, "created: %r" % created)
    first = created["deployments"][0]["id"]
    expect(first.startswith("ecs-svc/") and len(first) == 27, "deployment id: %s" % first)
    ecs.get_waiter("services_stable").wait(services=["web"], WaiterConfig=FAST)
    tasks = service_tasks(ecs)
    expect(len(tasks) == 3 and all(t["group"] == "service:web" and t["startedBy"] == first for t in tasks), "3 tasks: %r" % tasks)
    expect(all({"key": "app", "value": "web"} in ecs.list_tags_for_resource(resourceArn=t["taskArn"])["tags"] for t in tasks), "tags propagated")
    ok("create-service with 3 tasks, wait services-stable")

    # The essential process of one task dies: the task stops and is replaced.
    victim = tasks[0]["taskArn"]
    with open("%s/tasks/%s/state.json" % (root, victim.split("/")[-1])) as f:
        os.kill(json.load(f)["pids"]["app"], 9)
    stopped = wait_for("the killed task to stop", lambda: [t for t in ecs.describe_tasks(tasks=[victim])["tasks"] if t["lastStatus"] == "STOPPED"])[0]
    expect(stopped["stopCode"] == "EssentialContainerExited", "stopped: %r" % stopped.get("stopCode"))
    wait_for("a replacement", lambda: len([t for t in service_tasks(ecs) if t["lastStatus"] == "RUNNING" and t["taskArn"] != victim]) == 3)
    ok("a task whose essential process was killed is replaced")

    # A new revision: a rolling deployment leaves only new tasks.
    v2 = ecs.register_task_definition(**service_definition("v2"))["taskDefinition"]["taskDefinitionArn"]
    updated = ecs.update_service(service="web", taskDefinition=v2)["service"]
    primary = [d for d in updated["deployments"] if d["status"] == "PRIMARY"][0]
    expect(primary["taskDefinition"] == v2 and primary["id"] != first and len(updated["deployments"]) == 2, "new deployment: %r" % updated["deployments"])
    ecs.get_waiter("services_stable").wait(services=["web"], WaiterConfig=FAST)
    wait_for("the deployment to complete", lambda: ecs.describe_services(services=["web"])["services"][0]["deployments"][0]["rolloutState"] == "COMPLETED")
    final = ecs.describe_services(services=["web"])["services"][0]
    expect(len(final["deployments"]) == 1 and final["deployments"][0]["id"] == primary["id"], "one deployment: %r" % final["deployments"])
    running = service_tasks(ecs)
    expect(len(running) == 3 and all(t["taskDefinitionArn"] == v2 for t in running), "only v2 tasks: %r" % [t["taskDefinitionArn"] for t in running])
    old = [t for t in service_tasks(ecs, "STOPPED") if t["taskDefinitionArn"] == v1 and t["stopCode"] == "ServiceSchedulerInitiated"]
    expect(any(t["stoppedReason"] == "Scaling activity initiated by (deployment %s)" % primary["id"] for t in old), "old tasks' reason: %r" % [t.get("stoppedReason") for t in old])
    messages = [e["message"] for e in final["events"]]
    expect("(service web) (deployment %s) deployment completed." % primary["id"] in messages, "events: %r" % messages[:8])
    ok("update-service to v2: rolling deployment, only v2 tasks, ECS's events and stop reasons")

    # A revision whose container exits at once: the circuit breaker rolls back; v2 keeps serving.
    serving = sorted(t["taskArn"] for t in running)
    broken = ecs.register_task_definition(**service_definition("v3", "echo broken; exit 1"))["taskDefinition"]["taskDefinitionArn"]
    bad = [d for d in ecs.update_service(service="web", taskDefinition=broken)["service"]["deployments"] if d["status"] == "PRIMARY"][0]["id"]
    seen_failed = []

    def rolled_back():
        svc = ecs.describe_services(services=["web"])["services"][0]
        seen_failed.extend(d["rolloutState"] for d in svc["deployments"] if d["id"] == bad and d["rolloutState"] == "FAILED")
        return svc if svc["deployments"][0]["id"] == primary["id"] and len(svc["deployments"]) == 1 else None
    svc = wait_for("the rollback", rolled_back)
    messages = [e["message"] for e in svc["events"]]
    expect("(service web) (deployment %s) deployment failed: tasks failed to start." % bad in messages, "events: %r" % messages[:8])
    expect("(service web) rolling back to deployment %s." % primary["id"] in messages, "events: %r" % messages[:8])
    expect(svc["taskDefinition"] == v2, "back on v2: %s" % svc["taskDefinition"])
    expect(sorted(t["taskArn"] for t in service_tasks(ecs)) == serving, "the v2 tasks kept serving throughout")
    ok("a broken revision: circuit breaker, rollback (FAILED seen: %s), the old tasks kept serving" % bool(seen_failed))

    # Bad input changes nothing.
    before = ecs.describe_services(services=["web"])["services"][0]
    expect_error("InvalidParameterException", "maximumPercent must be at least 100", ecs.update_service, service="web",
                 deploymentConfiguration={"maximumPercent": 90})
    # (minimumHealthyPercent above maximumPercent: above 100, as maximumPercent is at least 100.)
    expect_error("InvalidParameterException", "minimumHealthyPercent must be between 0 and 100", ecs.update_service, service="web",
                 deploymentConfiguration={"minimumHealthyPercent": 150, "maximumPercent": 120})
    expect_error("InvalidParameterException", "desiredCount 5001", ecs.update_service, service="web", desiredCount=5001)
    expect_error("InvalidParameterException", "not a target group ARN", ecs.create_service, serviceName="lb", taskDefinition=v2, desiredCount=1,
                 networkConfiguration=NETWORK, loadBalancers=[{"targetGroupArn": "tg-1", "containerName": "app", "containerPort": 8080}])
    expect_error("InvalidParameterException", "did not have a container port 9999 defined", ecs.create_service, serviceName="lb", taskDefinition=v2,
                 desiredCount=1, networkConfiguration=NETWORK,
                 loadBalancers=[{"targetGroupArn": "arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/web/0123456789abcdef",
                                 "containerName": "app", "containerPort": 9999}])
    expect_error("InvalidParameterException", "Creation of service was not idempotent.", ecs.create_service, serviceName="web",
                 taskDefinition=v2, desiredCount=1, networkConfiguration=NETWORK)
    expect_error("ServiceNotFoundException", "Service not found.", ecs.update_service, service="nope", desiredCount=1)
    expect_error("InvalidParameterException", "scaled above 0", ecs.delete_service, service="web")
    after = ecs.describe_services(services=["web"])["services"][0]
    expect((after["desiredCount"], after["deploymentConfiguration"], after["taskDefinition"]) ==
           (before["desiredCount"], before["deploymentConfiguration"], before["taskDefinition"]), "unchanged")
    expect(ecs.list_services()["serviceArns"] == [before["serviceArn"]], "no other service was made")
    missing = ecs.describe_services(services=["nope"])
    expect(missing["failures"][0]["reason"] == "MISSING", "MISSING: %r" % missing)

    # Delete: every task stops, the service ends INACTIVE.
    expect(ecs.delete_service(service="web", force=True)["service"]["status"] == "DRAINING", "DRAINING")
    ecs.get_waiter("services_inactive").wait(services=["web"], WaiterConfig=FAST)
    expect(ecs.list_tasks()["taskArns"] == [], "no task left")
    expect(ecs.list_services()["serviceArns"] == [], "not listed")
    ok("delete-service --force: DRAINING, then INACTIVE with no task left")


def wait_completed(ecs, service="web"):
    """services-stable passes once desiredCount tasks are RUNNING (as on ECS); a deployment
    COMPLETES once they are healthy, behind a target group once registered there."""
    ecs.get_waiter("services_stable").wait(services=[service], WaiterConfig=FAST)
    wait_for("the deployment to complete", lambda: (lambda s: len(s["deployments"]) == 1 and s["deployments"][0]["rolloutState"] == "COMPLETED")(
        ecs.describe_services(services=[service])["services"][0]))


def get(url, timeout=3):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.read().decode()


def task_ips(tasks):
    return sorted(d["value"] for t in tasks for a in t.get("attachments", []) for d in a.get("details", [])
                  if d["name"] == "privateIPv4Address")


def requests_per_second(url, n=200):
    start = time.time()
    for _ in range(n):
        get(url)
    return n / (time.time() - start)


def check_load_balancer():
    """A service of 3 behind its target group's listener (LISTENER, TARGET_GROUP): new
    connections spread over every task; a rolling deployment under a steady, bounded loop of
    requests loses none; deleting the service removes the listener."""
    ecs = client()
    listener, tg = "http://%s/" % os.environ["LISTENER"], os.environ["TARGET_GROUP"]
    balanced = [{"targetGroupArn": tg, "containerName": "app", "containerPort": 8080}]
    v1 = ecs.register_task_definition(**service_definition("v1"))["taskDefinition"]["taskDefinitionArn"]
    ecs.create_service(serviceName="web", taskDefinition=v1, desiredCount=3, networkConfiguration=NETWORK, loadBalancers=balanced)
    wait_completed(ecs)
    ips = task_ips(service_tasks(ecs))
    expect(len(ips) == 3, "3 task addresses: %r" % ips)
    # What each task answers, asked at its own address.
    direct = {get("http://%s:8080/" % ip) for ip in ips}
    expect(len(direct) == 3 and all(a.startswith("v1\n") for a in direct), "each task answers itself: %r" % direct)
    # (The scheduler reports targets at the end of the reconcile that completed the deployment.)
    wait_for("the listener to answer", lambda: error_of_get(listener) is None, seconds=10)
    answers = [get(listener) for _ in range(60)]
    counts = {a.split("\n")[1]: answers.count(a) for a in set(answers)}
    expect(set(answers) == direct, "60 connections to the listener reached every task and only them: %r" % counts)
    messages = [e["message"] for e in ecs.describe_services(services=["web"])["services"][0]["events"]]
    expect(any(m.startswith("(service web) registered ") and tg in m for m in messages), "registered event: %r" % messages[:6])
    ok("60 connections to the listener spread over the 3 tasks: %s" % sorted(counts.values()))
    # Target health as `fargate-run service ps` shows it.
    ps = subprocess.run([os.environ["FARGATE_RUN"], "service", "ps", "--root", os.environ["ROOT"], "web"],
                        capture_output=True, text=True, timeout=60)
    rows = [line.split() for line in ps.stdout.splitlines()[1:]]
    expect(ps.returncode == 0 and len(rows) == 3 and all(r[3] == "healthy" for r in rows), "service ps: %s %s" % (ps.stdout, ps.stderr))

    # Throughput: sequential requests (a new connection each) through the listener, and
    # straight to one task.
    through, straight = requests_per_second(listener), requests_per_second("http://%s:8080/" % ips[0])
    ok("throughput, 200 sequential HTTP requests: listener %.0f/s, one task directly %.0f/s" % (through, straight))

    # A rolling deployment to v2 under a loop of requests (bounded: it ends when the deployment
    # has, or after 4000 requests).
    results, done = [], threading.Event()

    def load():
        while not done.is_set() and len(results) < 4000:
            try:
                results.append(get(listener).split("\n")[0])
            except Exception as e:  # noqa: BLE001 - every failure counts, whatever it is
                results.append("FAILED %s" % e)
            time.sleep(0.01)
    loader = threading.Thread(target=load)
    loader.start()
    started = time.time()
    try:
        time.sleep(0.5)
        v2 = ecs.register_task_definition(**service_definition("v2", SERVE_KILLABLE % "v2"))["taskDefinition"]["taskDefinitionArn"]
        ecs.update_service(service="web", taskDefinition=v2)
        wait_for("the deployment to complete", lambda: (lambda s: len(s["deployments"]) == 1 and s["deployments"][0]["rolloutState"] == "COMPLETED"
                                                          and s["deployments"][0]["taskDefinition"] == v2)(ecs.describe_services(services=["web"])["services"][0]))
        took = time.time() - started
        time.sleep(1)
    finally:
        done.set()
        loader.join()
    failed = [r for r in results if r.startswith("FAILED")]
    expect(not failed, "%d of %d requests failed during the deployment: %r" % (len(failed), len(results), failed[:5]))
    expect("v1" in results and "v2" in results and results[-20:] == ["v2"] * 20, "v1 then only v2: %r" % results[-30:])
    final = ecs.describe_services(services=["web"])["services"][0]
    messages = [e["message"] for e in final["events"]]
    expect(any(m.startswith("(service web) deregistered ") and tg in m for m in messages), "deregistered: %r" % messages[:10])
    expect(any("has begun draining connections" in m for m in messages), "draining: %r" % messages[:10])
    new = task_ips(service_tasks(ecs))
    answers = {get(listener) for _ in range(45)}
    expect(len(answers) == 3 and all(a.startswith("v2\n") for a in answers), "the listener spreads over the 3 v2 tasks: %r" % answers)
    ok("update-service under load: %d requests, 0 failed, deployment complete in %.1f s; the listener now has the 3 v2 tasks (%s)" % (len(results), took, ", ".join(new)))

    # A task whose server dies while the task runs on: its target turns unhealthy (ELB's state
    # and reason, in `service targets` and `service ps`) while the task is still there, then
    # the task is stopped with ECS's reason and replaced.
    victim = service_tasks(ecs)[0]
    victim_id, victim_ip = victim["taskArn"].split("/")[-1], task_ips([victim])[0]
    r = fargate_run("exec", "-c", "app", victim_id, "--", "sh", "-c", "kill $(cat /tmp/httpd.pid)")
    expect(r.returncode == 0, "kill httpd: %s" % r.stderr)
    seen = {}

    def victim_status():
        return ecs.describe_tasks(tasks=[victim["taskArn"]])["tasks"][0]["lastStatus"]

    def unhealthy_shown():
        t = service_command("targets", "web", "--output", "json")
        expect(t.returncode == 0, "service targets: %s" % t.stderr)
        for d in json.loads(t.stdout)["TargetHealthDescriptions"]:
            if d["Target"]["Id"] == victim_ip and d["TargetHealth"]["State"] == "unhealthy" and "targets" not in seen:
                seen["targets"] = (d, victim_status())
        for row in service_command("ps", "web").stdout.splitlines()[1:]:
            cells = row.split()
            if victim_id.startswith(cells[0]) and cells[3] == "unhealthy":
                seen.setdefault("ps", row)
        return len(seen) == 2 or victim_status() == "STOPPED"
    wait_for("the target of the task whose server died to show unhealthy", unhealthy_shown, seconds=30)
    expect("targets" in seen and "ps" in seen, "unhealthy shown by service targets and service ps: %r" % seen)
    shown, status_then = seen["targets"]
    expect(shown == {"Target": {"Id": victim_ip, "Port": 8080}, "HealthCheckPort": "8080",
                     "TargetHealth": {"State": "unhealthy", "Reason": "Target.FailedHealthChecks", "Description": "Health checks failed"}},
           "as describe-target-health would print it: %r" % (shown,))
    expect(status_then != "STOPPED", "shown unhealthy while its task was still %s" % status_then)
    stopped = wait_for("the unhealthy task to stop", lambda: (lambda t: t if t["lastStatus"] == "STOPPED" else None)(
        ecs.describe_tasks(tasks=[victim["taskArn"]])["tasks"][0]), seconds=30)
    expect(stopped["stoppedReason"] == "Task failed ELB health checks in (target-group %s)" % tg and stopped["stopCode"] == "ServiceSchedulerInitiated",
           "stopped: %s %s" % (stopped.get("stopCode"), stopped.get("stoppedReason")))
    messages = [e["message"] for e in ecs.describe_services(services=["web"])["services"][0]["events"]]
    expect("(service web) (task %s) (port 8080) is unhealthy in (target-group %s) due to (reason Health checks failed)." % (victim_id, tg) in messages,
           "unhealthy event: %r" % messages[:8])

    def three_healthy():
        t = json.loads(service_command("targets", "web", "--output", "json").stdout)["TargetHealthDescriptions"]
        return len(t) == 3 and all(d["TargetHealth"]["State"] == "healthy" for d in t) and victim_ip not in [d["Target"]["Id"] for d in t]
    wait_for("3 healthy targets again", three_healthy, seconds=30)
    # The table: the target group, a header, and a row per task (id prefix, address:port, state).
    table = service_command("targets", "web")
    expect(table.returncode == 0, "service targets: %s" % table.stderr)
    lines = table.stdout.splitlines()
    expect(lines[0] == "target group %s" % tg and lines[1].split() == ["TASK", "TARGET", "STATE", "REASON", "DESCRIPTION"],
           "service targets' table head: %r" % lines[:2])
    shown_rows = {(cells[1], cells[2]) for cells in (row.split() for row in lines[2:])}
    healthy_ips = {d["Target"]["Id"] for d in json.loads(service_command("targets", "web", "--output", "json").stdout)["TargetHealthDescriptions"]}
    expect({(ip + ":8080", "healthy") for ip in healthy_ips} <= shown_rows, "service targets' table rows: %r against %r" % (lines, healthy_ips))
    ok("a task whose server died: its target shown unhealthy (Target.FailedHealthChecks) while the task was %s, then stopped (%s) and replaced"
       % (status_then, stopped["stoppedReason"]))

    ecs.update_service(service="web", desiredCount=0)
    ecs.delete_service(service="web", force=True)
    ecs.get_waiter("services_inactive").wait(services=["web"], WaiterConfig=FAST)
    refused = wait_for("the listener to go", lambda: error_of_get(listener), seconds=20)
    ok("delete-service: the listener is gone (%s)" % refused)


def error_of_get(url):
    try:
        get(url, timeout=2)
    except Exception as e:  # noqa: BLE001 - the error itself is what is returned
        return str(e) or type(e).__name__
    return None


def service_command(*args, timeout=60):
    """`fargate-run service COMMAND --root ROOT ARGS...`."""
    return subprocess.run([os.environ["FARGATE_RUN"], "service", args[0], "--root", os.environ["ROOT"]] + list(args[1:]),
                          capture_output=True, text=True, timeout=timeout)


def fargate_run(*args, timeout=60):
    return subprocess.run([os.environ["FARGATE_RUN"], args[0], "--root", os.environ["ROOT"]] + list(args[1:]),
                          capture_output=True, text=True, timeout=timeout)


def names_in(task_id, name):
    """The addresses `name` has in the task's /etc/hosts, as its containers read it."""
    r = fargate_run("exec", "-c", "app", task_id, "--", "sh", "-c", "grep -wF '%s' /etc/hosts | cut -f1 | sort" % name)
    expect(r.returncode == 0, "exec: %s" % r.stderr)
    return sorted(r.stdout.split())


def check_discovery():
    """A service with a service registry (REGISTRY, named NAME by serve --service-registry):
    from another task of its cluster, NAME resolves (getaddrinfo, in busybox wget) to the
    service's tasks, and follows them as they change; a task of another cluster has no such
    name; deleting the service removes it. Beside it, a Service Connect service whose client
    alias resolves the same way."""
    ecs = client()
    registry, name = os.environ["REGISTRY"], os.environ["NAME"]
    v1 = ecs.register_task_definition(**service_definition("d1"))["taskDefinition"]["taskDefinitionArn"]
    ecs.create_service(serviceName="web", taskDefinition=v1, desiredCount=2, networkConfiguration=NETWORK,
                       serviceRegistries=[{"registryArn": registry}])
    # Service Connect: the port mapping named "http", a discovery name and a client alias.
    alias = "orders.connect.local"
    api_def = ecs.register_task_definition(**service_definition("api"))["taskDefinition"]["taskDefinitionArn"]
    connect = {"enabled": True, "namespace": "internal",
               "services": [{"portName": "http", "discoveryName": "orders", "clientAliases": [{"port": 8080, "dnsName": alias}]}]}
    created = ecs.create_service(serviceName="api", taskDefinition=api_def, desiredCount=1, networkConfiguration=NETWORK,
                                 serviceConnectConfiguration=connect)["service"]
    expect(created["deployments"][0].get("serviceConnectConfiguration", {}).get("services", [{}])[0].get("clientAliases") ==
           [{"port": 8080, "dnsName": alias}], "the deployment has the Service Connect configuration: %r" % created["deployments"][0])
    wait_completed(ecs)
    wait_completed(ecs, "api")
    ips = task_ips(service_tasks(ecs))
    expect(len(ips) == 2, "2 task addresses: %r" % ips)
    api_ips = task_ips(service_tasks(ecs, service="api"))
    expect(len(api_ips) == 1, "1 api task address: %r" % api_ips)

    client_def = ecs.register_task_definition(**definition("client", "exec sleep 1000"))["taskDefinition"]["taskDefinitionArn"]
    ecs.create_cluster(clusterName="other")
    mine = ecs.run_task(taskDefinition=client_def, networkConfiguration=NETWORK)["tasks"][0]["taskArn"]
    theirs = ecs.run_task(cluster="other", taskDefinition=client_def, networkConfiguration=NETWORK)["tasks"][0]["taskArn"]
    ecs.get_waiter("tasks_running").wait(tasks=[mine], WaiterConfig=FAST)
    ecs.get_waiter("tasks_running").wait(cluster="other", tasks=[theirs], WaiterConfig=FAST)
    mine_id, theirs_id = mine.split("/")[-1], theirs.split("/")[-1]
    wait_for("%s in the client's hosts file" % name, lambda: names_in(mine_id, name) == ips, seconds=10)
    direct = {get("http://%s:8080/" % ip) for ip in ips}
    r = fargate_run("exec", "-c", "app", mine_id, "--", "sh", "-c",
                    "for i in 1 2 3 4 5 6 7 8 9 10; do timeout 3 wget -q -O - http://%s:8080/ || echo FAILED; echo .; done" % name)
    answers = [a.strip("\n") + "\n" for a in r.stdout.split(".\n") if a.strip()]
    expect(r.returncode == 0 and answers and all(a in direct for a in answers), "wget http://%s:8080/ from the client: %r (the tasks answer %r) %s" % (name, answers, direct, r.stderr))
    expect(names_in(theirs_id, name) == [], "a task of another cluster has no %s" % name)
    ok("from another task of the cluster, %s resolves to the service's 2 tasks (%s) and wget reaches them; not in another cluster" % (name, ", ".join(ips)))

    # The Service Connect client alias, from the same client task: its hosts file, and
    # getaddrinfo (busybox wget) reaching the api task, which answers with its own name.
    wait_for("%s in the client's hosts file" % alias, lambda: names_in(mine_id, alias) == api_ips, seconds=10)
    api_answer = get("http://%s:8080/" % api_ips[0])
    r = fargate_run("exec", "-c", "app", mine_id, "--", "sh", "-c", "timeout 3 wget -q -O - http://%s:8080/" % alias)
    expect(r.returncode == 0 and r.stdout == api_answer and api_answer.startswith("api\n"),
           "wget http://%s:8080/ from the client: %r (the api task answers %r) %s" % (alias, r.stdout, api_answer, r.stderr))
    expect(names_in(theirs_id, alias) == [], "a task of another cluster has no %s" % alias)
    ok("Service Connect: the client alias %s resolves from another task of the cluster to the api task (%s) and wget reaches it" % (alias, api_ips[0]))

    ecs.update_service(service="web", desiredCount=3)
    wait_completed(ecs)
    three = wait_for("a third address", lambda: (lambda got: got if len(got) == 3 and got == task_ips(service_tasks(ecs)) else None)(names_in(mine_id, name)), seconds=20)
    ok("scaled to 3: the client's %s follows (%s)" % (name, ", ".join(three)))

    for service in ("web", "api"):
        ecs.update_service(service=service, desiredCount=0)
        ecs.delete_service(service=service, force=True)
    ecs.get_waiter("services_inactive").wait(services=["web", "api"], WaiterConfig=FAST)
    wait_for("the name to go", lambda: names_in(mine_id, name) == [] and names_in(mine_id, alias) == [], seconds=20)
    r = fargate_run("exec", "-c", "app", mine_id, "--", "sh", "-c", "cat /etc/hosts")
    expect("fargate-run service discovery" not in r.stdout, "no discovery block left: %s" % r.stdout)
    ok("delete-service: %s and %s are gone from the client's hosts file" % (name, alias))
    for arn, cluster in ((mine, "default"), (theirs, "other")):
        ecs.stop_task(cluster=cluster, task=arn)


CHECKS = {"lifecycle": check_lifecycle, "deploy-action": check_deploy_action, "errors": check_errors,
          "bad-input": check_bad_input, "sigv4": check_sigv4, "services": check_services,
          "load-balancer": check_load_balancer, "discovery": check_discovery}

if __name__ == "__main__":
    CHECKS[sys.argv[1]]()
    print("all passed", flush=True)
