"""Latency of serve's ECS API as boto3 sees it (Benchmarks/ecs-api-latency.sh runs this).

RunTask -> RUNNING: a one-container task of a cached image, RunTask then DescribeTasks every
10 ms until lastStatus is RUNNING, one task at a time. RegisterTaskDefinition: calls per
second, one client, back to back. DescribeTasks: 100 tasks per call while TASKS tasks run.
"""
import os
import statistics
import sys
import time

import boto3
from botocore.config import Config

ENDPOINT = os.environ["ENDPOINT"]
IMAGE = os.environ["IMAGE"]
STARTS = int(os.environ.get("STARTS", "50"))
TASKS = int(os.environ.get("TASKS", "500"))
NETWORK = {"awsvpcConfiguration": {"subnets": ["subnet-local"]}}

ecs = boto3.client("ecs", endpoint_url=ENDPOINT, region_name="us-east-1", aws_access_key_id="bench",
                   aws_secret_access_key="bench", config=Config(retries={"max_attempts": 1}, max_pool_connections=4))


def pct(values, p):
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


def show(name, seconds):
    ms = [v * 1000 for v in seconds]
    print(f"{name}: n={len(ms)} median={statistics.median(ms):.1f} ms p99={pct(ms, 99):.1f} ms max={max(ms):.1f} ms", flush=True)


def definition(family):
    return {"family": family, "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"], "cpu": "256", "memory": "512",
            "containerDefinitions": [{"name": "app", "image": IMAGE, "command": ["sleep", "100000"], "stopTimeout": 2}]}


# RegisterTaskDefinition, back to back.
n, t0 = 200, time.monotonic()
for i in range(n):
    ecs.register_task_definition(**definition("bench-register"))
elapsed = time.monotonic() - t0
print(f"RegisterTaskDefinition: {n / elapsed:.0f} per second ({n} calls, one client)", flush=True)

ecs.register_task_definition(**definition("bench"))
# The image is unpacked once, by a first task nobody times.
first = ecs.run_task(taskDefinition="bench", networkConfiguration=NETWORK)["tasks"][0]["taskArn"]
ecs.get_waiter("tasks_running").wait(tasks=[first], WaiterConfig={"Delay": 1, "MaxAttempts": 120})

starts = []
for i in range(STARTS):
    t0 = time.monotonic()
    arn = ecs.run_task(taskDefinition="bench", networkConfiguration=NETWORK)["tasks"][0]["taskArn"]
    while True:
        status = ecs.describe_tasks(tasks=[arn])["tasks"][0]["lastStatus"]
        if status == "RUNNING":
            break
        if status == "STOPPED":
            sys.exit(f"task {arn} stopped before it ran")
        time.sleep(0.01)
    starts.append(time.monotonic() - t0)
show("RunTask -> RUNNING", starts)

# Fill up to TASKS running tasks (10 per RunTask), then describe them 100 at a time.
while True:
    arns = []
    for page in ecs.get_paginator("list_tasks").paginate(desiredStatus="RUNNING"):
        arns += page["taskArns"]
    if len(arns) >= TASKS:
        break
    ecs.run_task(taskDefinition="bench", networkConfiguration=NETWORK, count=min(10, TASKS - len(arns)))
deadline = time.monotonic() + 900
while time.monotonic() < deadline:
    described = [t for i in range(0, len(arns), 100) for t in ecs.describe_tasks(tasks=arns[i:i + 100])["tasks"]]
    if all(t["lastStatus"] == "RUNNING" for t in described):
        break
    time.sleep(2)
print(f"{len(arns)} tasks RUNNING", flush=True)
describes = []
for round_ in range(20):
    for i in range(0, len(arns), 100):
        t0 = time.monotonic()
        ecs.describe_tasks(tasks=arns[i:i + 100])
        describes.append(time.monotonic() - t0)
show(f"DescribeTasks of 100 (of {len(arns)} running)", describes)
lists = []
for _ in range(50):
    t0 = time.monotonic()
    for page in ecs.get_paginator("list_tasks").paginate(desiredStatus="RUNNING"):
        pass
    lists.append(time.monotonic() - t0)
show(f"ListTasks, every page ({len(arns)} tasks)", lists)
