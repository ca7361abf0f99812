# A cluster and a Fargate task definition created with Terraform's aws provider against
# fargate-run serve's ECS API (see README.md). Nothing here talks to AWS.

terraform {
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "5.100.0"
    }
  }
}

variable "ecs_endpoint" {
  description = "fargate-run serve's ECS API (serve --listen; default 127.0.0.1:8557)"
  type        = string
  default     = "http://127.0.0.1:8557"
}

variable "image" {
  description = "The container image: a registry reference, or oci:PATH[:TAG] for a local OCI layout"
  type        = string
  default     = "public.ecr.aws/docker/library/busybox:latest"
}

variable "environment" {
  description = "Value of the env tag (change it to see an in-place tag update)"
  type        = string
  default     = "dev"
}

provider "aws" {
  region = "us-east-1"

  # serve without --credentials accepts any key; with --credentials use a pair listed there.
  access_key = "local"
  secret_key = "local"

  # Without these the provider calls STS (GetCallerIdentity) and the instance metadata service.
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  skip_region_validation      = true

  endpoints {
    ecs = var.ecs_endpoint
  }
}

resource "aws_ecs_cluster" "demo" {
  name = "tf-demo"

  setting {
    name  = "containerInsights"
    value = "disabled"
  }

  tags = {
    env     = var.environment
    project = "fargate-run"
  }
}

resource "aws_ecs_task_definition" "hello" {
  family                   = "tf-hello"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = "256"
  memory                   = "512"

  container_definitions = jsonencode([
    {
      name      = "hello"
      image     = var.image
      essential = true
      command   = ["sh", "-c", "echo hello from fargate-run"]
      environment = [
        { name = "GREETING", value = "hello" }
      ]
      portMappings = [
        { containerPort = 8080, protocol = "tcp" }
      ]
    }
  ])

  tags = {
    env     = var.environment
    project = "fargate-run"
  }
}

output "cluster_arn" {
  value = aws_ecs_cluster.demo.arn
}

output "task_definition_arn" {
  value = aws_ecs_task_definition.hello.arn
}
