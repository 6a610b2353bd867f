#!/usr/bin/env bash
# Makes the loader's base image without pulling from any registry: a Debian bookworm root filesystem with
# Python 3 from debootstrap, imported into the local Docker engine (test/rig/e2e/debian-image.sh).
#
#   test/rig/e2e/base-image.sh IMAGE      # e.g. swh-e2e/python:3.11-bookworm
set -euo pipefail
image=${1:?usage: base-image.sh IMAGE}
# shellcheck source=test/rig/e2e/debian-image.sh
. "$(dirname "$0")/debian-image.sh"

# The image's python3 is Debian's 3.11; `python` and pip in a venv work as in python:3.11-bookworm. libmagic1
# is there as in python:3.11-bookworm (buildpack-deps has libmagic-dev): swh.core's tarball module loads it; so
# is libpq5 (buildpack-deps has libpq-dev): swh.storage's RPC server imports psycopg, which loads it.
slim() { chroot "$1" sh -c 'apt-get clean && rm -rf /var/lib/apt/lists/*'; }
import_changes=(--change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
    --change 'CMD ["/bin/bash"]')
debian_image "$image" bookworm-python slim "" --variant=minbase \
    --include=python3,python3-venv,python3-pip,python3-dev,ca-certificates,build-essential,libffi-dev,git,libmagic1,libpq5 bookworm
