set -uo pipefail
# Runs as root at first boot (cloud-init). Knows only the bucket, launch id and region exported above:
# everything else (entry point, parameters, tracking server) is read from the launch's private S3 prefix,
# so the user data holds no address or secret. Overridable for the tests: EMOTION_WORKDIR, EMOTION_PYTHON
# (skips the venv and install), EMOTION_INSTANCE_ID and EMOTION_SHUTDOWN.
WORKDIR="${EMOTION_WORKDIR:-/opt/emotion}"
BOOT_PYTHON="${EMOTION_PYTHON:-python3}"  # the AMI's python3 has boto3
mkdir -p "$WORKDIR" && cd "$WORKDIR" || exit 1
export EMOTION_WORKDIR="$WORKDIR" EMOTION_LOG="$WORKDIR/run.log"
exec >>"$EMOTION_LOG" 2>&1
if [ -z "${EMOTION_INSTANCE_ID:-}" ]; then
  EMOTION_INSTANCE_ID="$(cloud-init query instance_id 2>/dev/null || hostname)"
fi
export EMOTION_INSTANCE_ID

s3() {  # s3 get|put KEY FILE, inside this launch's prefix only, encrypted at rest
  "$BOOT_PYTHON" - "$@" <<'PY'
import os, sys, boto3
op, key, path = sys.argv[1:4]
client = boto3.client("s3", region_name=os.environ["EMOTION_REGION"])
key = f"launches/{os.environ['EMOTION_LAUNCH_ID']}/{key}"
if op == "get":
    client.download_file(os.environ["EMOTION_BUCKET"], key, path)
else:
    client.upload_file(path, os.environ["EMOTION_BUCKET"], key, ExtraArgs={"ServerSideEncryption": "AES256"})
PY
}

finish() {
  code=$?
  echo "emotion cloud: boot script ends with exit code $code; powering off"
  s3 put "logs/$EMOTION_INSTANCE_ID.log" "$EMOTION_LOG" || echo "emotion cloud: last log upload failed"
  ${EMOTION_SHUTDOWN:-shutdown -h now}  # shutdown behaviour is terminate: the instance goes away
  exit $code
}
trap finish EXIT

echo "emotion cloud: launch $EMOTION_LAUNCH_ID on $EMOTION_INSTANCE_ID, $(date -u +%FT%TZ)"
s3 get code.tar.gz code.tar.gz || exit 10
rm -rf code && mkdir code && tar -xzf code.tar.gz -C code || exit 11
cd code
if [ -z "${EMOTION_PYTHON:-}" ]; then
  python3 -m venv "$WORKDIR/venv" || exit 12
  PYTHON="$WORKDIR/venv/bin/python"
  "$PYTHON" -m pip install --quiet --upgrade pip
  "$PYTHON" -m pip install --quiet -e . "tensorflow[and-cuda]>=2.21,<2.22" || exit 13  # CUDA libraries for the GPU
else
  PYTHON="$EMOTION_PYTHON"
fi
export PATH="$(dirname "$PYTHON"):$PATH"  # MLproject commands call `python`
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"  # the launched code, installed or not
"$PYTHON" -m emotion.cloud.agent run
