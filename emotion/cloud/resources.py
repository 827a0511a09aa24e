"""What a launch creates besides instances, each tagged with the project and the launch id.

- the project bucket (once per account and region; kept: it holds every launch's logs and checkpoints),
  private (public access blocked, owner-enforced objects) and encrypted at rest (SSE-S3 by default);
- per launch: an IAM role + instance profile that may read and write only the launch's prefix in that
  bucket (plus the SSM agent's managed policy, for a shell without SSH), and a security group with no
  inbound rule at all.
"""

from __future__ import annotations

import json
import time

from emotion.cloud.aws import Aws, AwsError
from emotion.cloud.settings import PROJECT, PROJECT_TAG, CloudError, prefix, role_name, tags

SSM_CORE_POLICY = "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"  # shell through SSM Session Manager
EC2_TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}


def default_bucket(account: str, region: str) -> str:
    return f"emotion-{account}-{region}"


def ensure_bucket(aws: Aws, bucket: str, account: str) -> bool:
    """Use the bucket if this account owns it, create it if nobody does; True if created now."""
    owned = {b["Name"] for b in aws.read("s3", "list_buckets").get("Buckets", [])}
    if bucket in owned:
        return False
    try:
        aws.read("s3", "head_bucket", Bucket=bucket)
        exists = True
    except AwsError as error:
        exists = error.code not in ("404", "NoSuchBucket", "NotFound")
    if exists:  # it answers (or refuses) but is not in our list: another account's
        raise CloudError(
            f"--bucket {bucket}: exists but belongs to another AWS account (not {account}); choose another name"
        )
    config = {} if aws.region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": aws.region}}
    try:
        aws.write("s3", "create_bucket", Bucket=bucket, ObjectOwnership="BucketOwnerEnforced", **config)
    except AwsError as error:
        if error.code == "BucketAlreadyExists":
            raise CloudError(
                f"--bucket {bucket}: the name is taken by another AWS account; choose another name"
            ) from None
        raise
    aws.write(
        "s3",
        "put_public_access_block",
        Bucket=bucket,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )
    aws.write(
        "s3",
        "put_bucket_encryption",
        Bucket=bucket,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
        },
    )
    aws.write("s3", "put_bucket_tagging", Bucket=bucket, Tagging={"TagSet": [{"Key": PROJECT_TAG, "Value": PROJECT}]})
    return True


def bucket_policy_for_launch(bucket: str, launch_id: str) -> dict:
    objects = f"arn:aws:s3:::{bucket}/{prefix(launch_id)}/*"
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"], "Resource": objects},
            {
                "Effect": "Allow",
                "Action": "s3:ListBucket",
                "Resource": f"arn:aws:s3:::{bucket}",
                "Condition": {"StringLike": {"s3:prefix": f"{prefix(launch_id)}/*"}},
            },
        ],
    }


def create_instance_profile(aws: Aws, bucket: str, launch_id: str) -> str:
    name = role_name(launch_id)
    aws.write(
        "iam",
        "create_role",
        RoleName=name,
        AssumeRolePolicyDocument=json.dumps(EC2_TRUST),
        Tags=tags(launch_id),
        Description=f"emotion cloud launch {launch_id}: its own S3 prefix only",
        MaxSessionDuration=3600,
    )
    aws.write(
        "iam",
        "put_role_policy",
        RoleName=name,
        PolicyName="launch-prefix-only",
        PolicyDocument=json.dumps(bucket_policy_for_launch(bucket, launch_id)),
    )
    aws.write("iam", "attach_role_policy", RoleName=name, PolicyArn=SSM_CORE_POLICY)
    aws.write("iam", "create_instance_profile", InstanceProfileName=name, Tags=tags(launch_id))
    aws.write("iam", "add_role_to_instance_profile", InstanceProfileName=name, RoleName=name)
    return name


def delete_instance_profile(aws: Aws, launch_id: str) -> list[str]:
    """Remove the role and profile if they exist; returns what was removed."""
    name, removed = role_name(launch_id), []
    try:
        aws.read("iam", "get_instance_profile", InstanceProfileName=name)
        aws.write("iam", "remove_role_from_instance_profile", InstanceProfileName=name, RoleName=name)
        aws.write("iam", "delete_instance_profile", InstanceProfileName=name)
        removed.append(f"instance profile {name}")
    except AwsError as error:
        if error.code != "NoSuchEntity":
            raise
    try:
        aws.read("iam", "get_role", RoleName=name)
        for policy in aws.read("iam", "list_role_policies", RoleName=name)["PolicyNames"]:
            aws.write("iam", "delete_role_policy", RoleName=name, PolicyName=policy)
        for attached in aws.read("iam", "list_attached_role_policies", RoleName=name)["AttachedPolicies"]:
            aws.write("iam", "detach_role_policy", RoleName=name, PolicyArn=attached["PolicyArn"])
        aws.write("iam", "delete_role", RoleName=name)
        removed.append(f"role {name}")
    except AwsError as error:
        if error.code != "NoSuchEntity":
            raise
    return removed


def default_vpc(aws: Aws) -> str:
    vpcs = aws.read("ec2", "describe_vpcs", Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"]
    if not vpcs:
        raise CloudError(f"region {aws.region}: no default VPC to launch into (create one: aws ec2 create-default-vpc)")
    return vpcs[0]["VpcId"]


def create_security_group(aws: Aws, launch_id: str) -> str | None:
    """No inbound rule: nothing can connect in; the instance reaches out (S3, tracking server, PyPI)."""
    response = aws.write(
        "ec2",
        "create_security_group",
        GroupName=role_name(launch_id),
        VpcId=default_vpc(aws),
        Description=f"emotion cloud launch {launch_id}: no inbound access (shell through SSM)",
        TagSpecifications=[{"ResourceType": "security-group", "Tags": tags(launch_id)}],
    )
    return response["GroupId"] if response else None


def launch_security_groups(aws: Aws, launch_id: str) -> list[str]:
    filters = [{"Name": "tag:emotion:launch-id", "Values": [launch_id]}]
    return [g["GroupId"] for g in aws.read("ec2", "describe_security_groups", Filters=filters)["SecurityGroups"]]


def delete_security_groups(aws: Aws, launch_id: str, attempts: int = 20) -> list[str]:
    """Delete the launch's groups; AWS refuses while a terminating instance still holds one, so retry."""
    removed = []
    for group in launch_security_groups(aws, launch_id):
        for attempt in range(attempts):
            try:
                aws.write("ec2", "delete_security_group", GroupId=group)
                removed.append(f"security group {group}")
                break
            except AwsError as error:
                if error.code != "DependencyViolation" or attempt == attempts - 1:
                    raise
                time.sleep(6)
    return removed
