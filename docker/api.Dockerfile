# The API function's container image: AWS Lambda's Python 3.13 base image for arm64.
# Built and pushed by `pulumi up` (infra/components/api_function.py) with the
# repository root as the build context; .dockerignore keeps the context small.
FROM public.ecr.aws/lambda/python:3.13-arm64

# Runtime dependencies only, pinned and hash-checked (make lock writes this file
# for aarch64 / CPython 3.13). Installed into the task root, where the runtime
# looks for modules.
COPY requirements/lambda.txt /tmp/lambda.txt
RUN pip install --no-cache-dir --require-hashes --only-binary=:all: \
        --target "${LAMBDA_TASK_ROOT}" -r /tmp/lambda.txt \
    && rm /tmp/lambda.txt

# The shop itself (src/shop -> ${LAMBDA_TASK_ROOT}/shop); .dockerignore leaves out the
# local-only platform and the edge function (a separate zip).
COPY src/shop ${LAMBDA_TASK_ROOT}/shop

# Byte-compile the shop at build time (pip already did so for the requirements): the task root is
# read-only at run time, so without its __pycache__ every cold start would compile it from source.
# Unchecked hash-based pycs: the image never changes under them, so the runtime skips the stat.
RUN python -m compileall -q --invalidation-mode unchecked-hash "${LAMBDA_TASK_ROOT}/shop"

CMD ["shop.api.handler.handler"]
