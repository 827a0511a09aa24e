"""`emotion cloud`: run any entry point (or a sweep over many workers) on AWS EC2 with boto3.

settings.py   every default of a launch, in one place
prices.py     hourly prices of the supported instance types, and the estimate shown before launching
aws.py        one boto3 session: credential / region / account checks, every call (and --dry-run) in one place
resources.py  the bucket, the per-launch IAM role + instance profile and security group, all tagged
package.py    the code (git archive of HEAD) and optional data / feature cache as tarballs
userdata.py   the instance's boot script (user_data_body.sh): fetch, install, run, stream the log, power off
launch.py     launch (with rollback when it fails half-way) and relaunch of a launch id
manage.py     status, logs, gpu, download, terminate
user_data_body.sh  the boot script's body (userdata.py fills in the launch's values)
cli.py        `emotion cloud ...`: the subcommands added to the main command line
agent.py      runs on the instance: `mlflow run`, log and checkpoint sync to S3, status
"""
