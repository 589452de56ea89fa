#!/usr/bin/env bash
# Publish every public package whose version is not on the registry yet:
# `pnpm release` after `pnpm version-packages` (Changesets) has set the versions.
#
# `pnpm publish -r` skips private packages, runs each package's `prepack` (the
# build) and rewrites `workspace:^` ranges into real ones (`^0.1.0`).
#
# `pnpm release --dry-run` does all of that except the upload, for CI (which
# builds from a fresh clone; the packaging test fails on stale build output). It adds
#   --force          list every package even when its version is on the registry
#                    already, and so never ask the registry (works offline);
#   --no-git-checks  a dry run from a branch or an unclean working tree is fine.
set -euo pipefail
cd "$(dirname "$0")/.."
export TURBO_TELEMETRY_DISABLED=1 DO_NOT_TRACK=1

dry_run=false
for arg in "$@"; do
  case "$arg" in
    --dry-run) dry_run=true ;;
    *) echo "release: unknown option '$arg' (accepted: --dry-run)" >&2; exit 2 ;;
  esac
done

if $dry_run; then
  pnpm publish -r --dry-run --force --no-git-checks
else
  # From a clean build: tsc -b never deletes the output of a removed source file.
  pnpm clean
  pnpm build
  pnpm publish -r
  # Tags (@baton/lifecycle@0.1.0, ...) for the versions just published.
  pnpm changeset tag
fi
