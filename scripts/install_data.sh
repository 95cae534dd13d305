#!/usr/bin/env bash
# Installs the Debian package dataset-fashion-mnist when its files are missing.
# Uses apt-get directly as root, sudo otherwise; says what to do when neither is possible.
set -euo pipefail
dir=/usr/share/datasets/fashion-mnist
files=(train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz t10k-images-idx3-ubyte.gz
       t10k-labels-idx1-ubyte.gz)
missing=0
for f in "${files[@]}"; do [ -f "$dir/$f" ] || missing=1; done
[ "$missing" = 0 ] && exit 0
if [ -n "${DEEPGRAD_DATA:-}" ] && [ -f "$DEEPGRAD_DATA/train-images-idx3-ubyte.gz" ]; then
  exit 0
fi
echo "Fashion-MNIST is not in $dir: installing the Debian package dataset-fashion-mnist"
if [ "$(id -u)" = 0 ]; then
  apt-get update -qq && apt-get install -y -qq dataset-fashion-mnist
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  sudo apt-get update -qq && sudo apt-get install -y -qq dataset-fashion-mnist
else
  echo "error: cannot install dataset-fashion-mnist (not root and no password-less sudo)." >&2
  echo "Run: sudo apt-get install dataset-fashion-mnist" >&2
  echo "or put the four IDX files in a folder and set DEEPGRAD_DATA to it." >&2
  exit 1
fi
