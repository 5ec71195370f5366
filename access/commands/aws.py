"""The one factory for boto3 clients used by the tools (tests replace it with stubbed clients)."""

from __future__ import annotations

from typing import Any


def aws_client(service: str, region: str | None) -> Any:
    import boto3

    return boto3.client(service, region_name=region) if region else boto3.client(service)
