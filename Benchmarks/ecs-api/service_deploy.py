"""UpdateService to steady state (Benchmarks/service-deploy.sh runs this).

For each size: CreateService of SIZE tasks, wait until steady, then UpdateService to a new
revision and time until the service is steady again with only new tasks (the PRIMARY
deployment COMPLETED and alone, SIZE running), polling DescribeServices every 50 ms.
"""
import os
import sys
import time

import boto3
from botocore.config import Config

ENDPOINT = os.environ["ENDPOINT"]
IMAGE = os.environ["IMAGE"]
SIZES = [int(s) for s in os.environ.get("SIZES", "3 30").split()]
NETWORK = {"awsvpcConfiguration": {"subnets": ["subnet-local"]}}

ecs = boto3.client("ecs", endpoint_url=ENDPOINT, region_name="us-east-1", aws_access_key_id="bench",
                   aws_secret_access_key="bench", config=Config(retries={"max_attempts": 1}))


def definition(version):
    return {"family": "deploy", "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"], "cpu": "256", "memory": "512",
            "containerDefinitions": [{"name": "app", "image": IMAGE, "command": ["sh", "-c", f"echo {version}; exec sleep 100000"],
                                      "stopTimeout": 2}]}


def steady(name, size, arn):
    s = ecs.describe_services(services=[name])["services"][0]
    d = s["deployments"]
    return len(d) == 1 and d[0]["rolloutState"] == "COMPLETED" and s["runningCount"] == size and d[0]["taskDefinition"] == arn


def wait_steady(name, size, arn, limit=600):
    t0 = time.monotonic()
    while not steady(name, size, arn):
        if time.monotonic() - t0 > limit:
            sys.exit(f"{name} not steady after {limit} s")
        time.sleep(0.05)
    return time.monotonic() - t0


for size in SIZES:
    name = f"deploy-{size}"
    v1 = ecs.register_task_definition(**definition("v1"))["taskDefinition"]["taskDefinitionArn"]
    v2 = ecs.register_task_definition(**definition("v2"))["taskDefinition"]["taskDefinitionArn"]
    ecs.create_service(serviceName=name, taskDefinition=v1, desiredCount=size, networkConfiguration=NETWORK)
    created = wait_steady(name, size, v1)
    ecs.update_service(service=name, taskDefinition=v2)
    updated = wait_steady(name, size, v2)
    print(f"{size} tasks: CreateService -> steady {created:.1f} s, UpdateService -> steady {updated:.1f} s", flush=True)
    ecs.delete_service(service=name, force=True)
    t0 = time.monotonic()
    while ecs.list_tasks(serviceName=name, desiredStatus="RUNNING")["taskArns"] and time.monotonic() - t0 < 300:
        time.sleep(0.5)
